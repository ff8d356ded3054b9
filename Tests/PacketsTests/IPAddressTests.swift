import Packets
import Testing

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // RFC 5952 §4.2.3: leftmost longest run
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),         // the longer run wins
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), // §4.2.2: a single 0 group is not compressed
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),        // IPv4-mapped keeps its mixed form
        ("::ffff:c000:0201", "::ffff:192.0.2.1"),
        ("64:ff9b::", "64:ff9b::"),
        ("2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1"),
    ])
    func roundTrip(_ input: String, _ canonical: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "a.b.c.d",
                      "1::2::3", "12345::", "2001:db8::g", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
                      "::ffff:1.2.3", "1.2.3.4::"])
    func rejectsInvalid(_ text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func ipv4AndMappedIPv6AreDistinct() throws {
        let v4 = try #require(IPAddress("192.0.2.1"))
        let mapped = try #require(IPAddress("::ffff:192.0.2.1"))
        #expect(v4.isIPv4)
        #expect(!mapped.isIPv4)
        #expect(v4 != mapped)
        #expect(v4.high == mapped.high && v4.low == mapped.low)  // same bits, different family
        #expect(Set([v4, mapped]).count == 2)
    }

    @Test func bytesAndValue() throws {
        let v4 = IPAddress(ipv4: 0xC000_0201)
        #expect(v4.description == "192.0.2.1")
        #expect(v4.bytes == [192, 0, 2, 1])
        #expect(v4.ipv4Value == 0xC000_0201)
        #expect(IPAddress(bytes: [192, 0, 2, 1]) == v4)
        let v6 = try #require(IPAddress("2001:db8::1"))
        #expect(v6.bytes == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(IPAddress(bytes: v6.bytes) == v6)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(v6.ipv4Value == nil)
    }

    @Test func ordering() throws {
        let sorted = ["10.0.0.2", "10.0.0.10", "::1", "2001:db8::1", "1.1.1.1"].map { IPAddress($0)! }.sorted()
        #expect(sorted.map(\.description) == ["1.1.1.1", "10.0.0.2", "10.0.0.10", "::1", "2001:db8::1"])
    }
}
