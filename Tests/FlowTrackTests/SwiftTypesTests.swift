import FlowTrack
import Foundation
import SystemPackage
import Testing

/// The conformances and conversions a Swift user reaches for: Codable connections that
/// read FlowTrack's own JSON output, Hashable/Identifiable records, Timestamp with Date and
/// Duration, Endpoint parsing, LinkType and URL/FilePath openers.
@Suite struct SwiftTypesTests {
    /// The connections of fixtures with TCP, UDP, ICMP, IPv6 and tunnels in them.
    static func connections() throws -> [Connection] {
        var configuration = TrackerConfiguration()
        configuration.computeCommunityID = true
        var rows: [Connection] = []
        for name in ["conn-sf.pcap", "conn-udp.pcap", "ipv6-loopback.pcap", "tn-vxlan.pcap", "tcp-loopback.pcap"] {
            var pipeline = FlowTracker(configuration: configuration)
            try pipeline.run(file: Paths.fixture(name)) { if case let .ended(c) = $0 { rows.append(c) } }
            pipeline.finish { if case let .ended(c) = $0 { rows.append(c) } }
        }
        return rows
    }

    @Test func connectionsDecodeFromTheJSONOutput() throws {
        // Each line `flowtrack conn --format json` writes decodes into the connection it came from
        // (times to the microsecond the output keeps).
        let rows = try Self.connections()
        #expect(rows.count >= 8)
        let writer = JSONLinesWriter(columns: ConnLogColumns(communityID: true))
        for c in rows {
            var line: [UInt8] = []
            writer.append(c, to: &line)
            let decoded = try JSONDecoder().decode(Connection.self, from: Data(line))
            #expect(decoded.uid == c.uid && decoded.originator == c.originator && decoded.responder == c.responder)
            #expect(decoded.transport == c.transport && decoded.connState == c.connState && decoded.history == c.history)
            #expect(decoded.originatorCounters.packets == c.originatorCounters.packets)
            #expect(decoded.responderCounters.ipBytes == c.responderCounters.ipBytes)
            #expect(decoded.tcpState == c.tcpState && decoded.endReason == c.endReason && decoded.tunnelParents == c.tunnelParents)
            #expect(decoded.communityID == c.communityID && decoded.service == c.service)
            #expect(abs(decoded.startTime.nanoseconds - c.startTime.nanoseconds) < 1000)
        }
    }

    @Test func encodedConnectionsReadLikeTheJSONOutputAndRoundTrip() throws {
        let writer = JSONLinesWriter(columns: ConnLogColumns(communityID: true))
        for c in try Self.connections() {
            var line: [UInt8] = []
            writer.append(c, to: &line)
            let output = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let encodedData = try JSONEncoder().encode(c)
            let encoded = try #require(try JSONSerialization.jsonObject(with: encodedData) as? [String: Any])
            // Every field of the output, with the same value (numbers to the output's 6 decimals).
            for (key, value) in output {
                let mine = try #require(encoded[key], "\(key) missing from the encoding")
                if let number = value as? Double, let other = mine as? Double {
                    #expect(abs(number - other) < 1e-6, "\(key)")
                } else {
                    #expect("\(value)" == "\(mine)", "\(key)")
                }
            }
            let back = try JSONDecoder().decode(Connection.self, from: encodedData)
            #expect(back == c, "round trip of \(c): \(Mirror(reflecting: back).children.filter { child in "\(child.value)" != "\(Mirror(reflecting: c).children.first { $0.label == child.label }!.value)" }.map { "\($0.label!)=\($0.value)" })")
        }
    }

    @Test func connectionsAreHashableIdentifiableAndPrintable() throws {
        let rows = try Self.connections()
        #expect(Set(rows).count == rows.count)
        var pipeline = FlowTracker()
        var ids: [Connection.ID: String] = [:]
        try pipeline.run(file: Paths.fixture("tcp-loopback.pcap")) { if case let .ended(c) = $0 { ids[c.id] = c.uid } }
        pipeline.finish { if case let .ended(c) = $0 { ids[c.id] = c.uid } }
        #expect(ids.count >= 2 && Set(ids.values).count == ids.count, "one id per connection of a run")
        let sf = try #require(rows.first { $0.connState == .sf && $0.transport == .tcp })
        #expect(sf.description.hasPrefix("\(sf.uid) tcp \(sf.originator) → \(sf.responder) SF \(sf.history) "))
        #expect(sf.duration == sf.lastTime - sf.startTime && sf.duration > .zero)
    }

    @Test func timestampsPrintAsISO8601AndConvert() {
        let t = Timestamp(seconds: 1_700_000_000, nanoseconds: 1)
        #expect(t.description == "2023-11-14T22:13:20.000000001Z")  // date -u -d @1700000000
        #expect(Timestamp(seconds: -1, nanoseconds: 0).description == "1969-12-31T23:59:59.000000000Z")
        #expect(t + .seconds(2) - t == .seconds(2))
        #expect((t + .milliseconds(1500)).nanoseconds == t.nanoseconds + 1_500_000_000)
        #expect((t - .nanoseconds(2)).nanoseconds == t.nanoseconds - 2)
        #expect(Timestamp(Date(timeIntervalSince1970: 1.5)).nanoseconds == 1_500_000_000)
        #expect(abs(t.date.timeIntervalSince1970 - 1_700_000_000) < 1e-6)
        #expect(Duration.seconds(-3).wholeNanoseconds == -3_000_000_000)
    }

    @Test func endpointsParseTheirDescription() {
        #expect(Endpoint("10.0.0.1:80") == Endpoint(IPAddress("10.0.0.1")!, 80))
        #expect(Endpoint("[2001:db8::1]:443") == Endpoint(IPAddress("2001:db8::1")!, 443))
        for bad in ["10.0.0.1", "10.0.0.1:", "10.0.0.1:65536", "2001:db8::1:443", "[10.0.0.1]:80", "[2001:db8::1]443", "host:80", ":80"] {
            #expect(Endpoint(bad) == nil, "\(bad)")
        }
        let e = Endpoint(IPAddress("2001:db8::2")!, 8080)
        #expect(Endpoint(e.description) == e)
    }

    @Test func captureFilesOpenByURLAndFilePathWithATypedLinkType() throws {
        let path = Paths.fixture("tcp-loopback.pcap")
        let byURL = try PcapFile(url: URL(fileURLWithPath: path))
        #expect(byURL.linkType == .ethernet)
        let byPath = try PcapFile(filePath: FilePath(path))
        #expect(byPath.linkType == .ethernet)
        do {
            _ = try PcapFile(url: URL(string: "https://example.com/trace.pcap")!)
            Issue.record("opened a web URL")
        } catch {
            guard case .fileNotFound = error else { Issue.record("\(error)"); return }
        }
        var tracker = FlowTracker()
        var ended = 0
        try tracker.run(file: FilePath(path)) { if case .ended = $0 { ended += 1 } }
        tracker.finish { if case .ended = $0 { ended += 1 } }
        #expect(ended > 0)
    }

    @Test func connStateUsesSwiftNamesAndZeeksSpelling() {
        #expect(ConnState.allCases.map(\.description) ==
                ["S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH"])
        #expect(TCPState.initial.description == "NONE")
    }
}
