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

    /// Forty addresses with random zero runs, their canonical text from Python's
    /// `ipaddress` module (RFC 5952 compressed form), generated with seed 5952.
    @Test(arguments: [
        ("0:1:0:0:0:10:1:1", "0:1::10:1:1"),
        ("10:0:0:10:10:ffff:abc:abc", "10::10:10:ffff:abc:abc"),
        ("0:1:10:10:0:abc:0:10", "0:1:10:10:0:abc:0:10"),
        ("abc:ffff:ffff:0:10:abc:ffff:0", "abc:ffff:ffff:0:10:abc:ffff:0"),
        ("0:0:ffff:0:ffff:abc:0:1", "::ffff:0:ffff:abc:0:1"),
        ("1:10:0:0:ffff:0:ffff:ffff", "1:10::ffff:0:ffff:ffff"),
        ("10:10:0:ffff:0:0:abc:1", "10:10:0:ffff::abc:1"),
        ("0:ffff:abc:0:0:0:abc:1", "0:ffff:abc::abc:1"),
        ("1:1:0:abc:ffff:1:10:10", "1:1:0:abc:ffff:1:10:10"),
        ("0:ffff:10:ffff:ffff:10:ffff:abc", "0:ffff:10:ffff:ffff:10:ffff:abc"),
        ("abc:1:abc:0:abc:0:abc:10", "abc:1:abc:0:abc:0:abc:10"),
        ("0:0:abc:1:0:0:abc:ffff", "::abc:1:0:0:abc:ffff"),
        ("10:ffff:ffff:abc:1:abc:10:0", "10:ffff:ffff:abc:1:abc:10:0"),
        ("10:0:10:0:0:0:abc:ffff", "10:0:10::abc:ffff"),
        ("0:0:0:0:10:10:10:abc", "::10:10:10:abc"),
        ("10:abc:10:abc:0:abc:abc:0", "10:abc:10:abc:0:abc:abc:0"),
        ("0:10:abc:0:0:abc:10:10", "0:10:abc::abc:10:10"),
        ("0:0:0:1:1:0:abc:0", "::1:1:0:abc:0"),
        ("10:abc:10:abc:0:abc:0:10", "10:abc:10:abc:0:abc:0:10"),
        ("abc:1:10:1:10:0:abc:ffff", "abc:1:10:1:10:0:abc:ffff"),
        ("0:0:ffff:10:ffff:10:0:10", "::ffff:10:ffff:10:0:10"),
        ("abc:ffff:1:0:0:0:0:0", "abc:ffff:1::"),
        ("abc:1:0:0:abc:0:abc:0", "abc:1::abc:0:abc:0"),
        ("ffff:10:1:10:10:0:0:0", "ffff:10:1:10:10::"),
        ("10:0:0:ffff:0:abc:0:ffff", "10::ffff:0:abc:0:ffff"),
        ("1:0:0:1:0:0:1:ffff", "1::1:0:0:1:ffff"),
        ("10:10:10:0:ffff:0:0:1", "10:10:10:0:ffff::1"),
        ("ffff:abc:10:0:1:0:10:1", "ffff:abc:10:0:1:0:10:1"),
        ("1:abc:10:0:10:1:10:abc", "1:abc:10:0:10:1:10:abc"),
        ("0:10:abc:abc:10:1:1:1", "0:10:abc:abc:10:1:1:1"),
        ("ffff:0:ffff:0:ffff:1:abc:10", "ffff:0:ffff:0:ffff:1:abc:10"),
        ("0:1:abc:0:ffff:10:abc:abc", "0:1:abc:0:ffff:10:abc:abc"),
        ("0:0:10:ffff:0:10:0:0", "::10:ffff:0:10:0:0"),
        ("1:10:10:1:0:1:0:abc", "1:10:10:1:0:1:0:abc"),
        ("1:1:0:1:0:0:abc:0", "1:1:0:1::abc:0"),
        ("ffff:ffff:1:10:ffff:0:0:0", "ffff:ffff:1:10:ffff::"),
        ("0:0:0:0:ffff:0:10:ffff", "::ffff:0:10:ffff"),
        ("ffff:0:10:0:ffff:0:0:1", "ffff:0:10:0:ffff::1"),
        ("abc:10:0:10:0:0:10:0", "abc:10:0:10::10:0"),
        ("1:0:abc:0:ffff:0:0:10", "1:0:abc:0:ffff::10"),
    ])
    func textMatchesPythonsIPAddress(_ input: String, _ canonical: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == canonical)
        var bytes: [UInt8] = []
        address.appendText(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == canonical)
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
