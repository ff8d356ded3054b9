@testable import Flows
import Testing

/// Community ID v1 against the values in corelight/community-id-spec's README and
/// Zeek's baselines (Docs/ZeekSemantics.md §10).
@Suite struct CommunityIDTests {
    @Test func sha1KnownAnswers() {
        let hex = { (d: [UInt8]) in d.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(SHA1.digest([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(SHA1.digest(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA1.digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }

    @Test func base64Alphabet() {
        // RFC 4648 §4, Table 1.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        #expect((0..<64).map { CommunityID.base64Symbol(UInt32($0)) } == alphabet)
        #expect(CommunityID.base64Symbol(64 + 1) == UInt8(ascii: "B"))  // only the low 6 bits count
    }

    @Test func specExampleTCP() {
        // community-id-spec README: 128.232.110.120:34855 -> 66.35.250.204:80 TCP.
        let id = CommunityID.v1(ipProtocol: 6, source: Endpoint(IPAddress("128.232.110.120")!, 34855),
                                destination: Endpoint(IPAddress("66.35.250.204")!, 80))
        #expect(id == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
        // Order does not matter.
        #expect(CommunityID.v1(ipProtocol: 6, source: Endpoint(IPAddress("66.35.250.204")!, 80),
                               destination: Endpoint(IPAddress("128.232.110.120")!, 34855)) == id)
        // The seed does.
        #expect(CommunityID.v1(ipProtocol: 6, source: Endpoint(IPAddress("128.232.110.120")!, 34855),
                               destination: Endpoint(IPAddress("66.35.250.204")!, 80), seed: 1) != id)
    }
}
