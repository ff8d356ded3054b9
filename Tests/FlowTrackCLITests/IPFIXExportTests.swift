import FlowTrack
import Foundation
import Testing

/// Starts a collector, its output discarded, through Python, which clears the signal mask
/// the test process's threads pass on: with SIGTERM and SIGINT blocked, a collector would
/// never hear the request to write what it holds and exit.
func startCollector(_ executable: String, _ arguments: [String]) throws -> Process {
    let collector = Process()
    collector.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    collector.arguments = ["python3", "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
                           executable] + arguments
    collector.standardOutput = FileHandle.nullDevice
    collector.standardError = FileHandle.nullDevice
    try collector.run()
    return collector
}

/// `conn --ipfix` checked by a real collector: nfdump's nfcapd, started by the test on a
/// loopback port, receives the IPFIX messages; `nfdump -o raw` reads its file back; every
/// connection `conn --format json` lists must be there with the same addresses, ports,
/// protocol, packets and IP bytes each way, and start and end times (ms).
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/nfcapd")
                            && FileManager.default.isExecutableFile(atPath: "/usr/bin/nfdump"),
                            "needs nfdump's nfcapd and nfdump (CI installs the nfdump package)"))
struct IPFIXExportTests {
    /// One flow as nfdump prints it.
    struct Flow: Hashable, CustomStringConvertible {
        var first = 0, last = 0
        var source = "", destination = "", sourcePort = 0, destinationPort = 0, proto = 0
        var inPackets = 0, inBytes = 0, outPackets = 0, outBytes = 0
        var description: String {
            "\(proto) \(source):\(sourcePort) → \(destination):\(destinationPort) \(first)–\(last) in \(inPackets)/\(inBytes) out \(outPackets)/\(outBytes)"
        }
    }

    /// Runs nfcapd on a free loopback port (or `port`) around `body`, then reads what it stored.
    func collected(port: UInt16? = nil, host: String = "127.0.0.1", _ body: (UInt16) throws -> Void) throws -> [Flow] {
        Self.parse(try collectedRaw(port: port, host: host, body))
    }

    /// Runs nfcapd on a free loopback port (or `port`) around `body`; `nfdump -o raw` of what it stored.
    func collectedRaw(port chosen: UInt16? = nil, host: String = "127.0.0.1", _ body: (UInt16) throws -> Void) throws -> String {
        let directory = Paths.temporary("nfcapd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // 50000–54999: clear of the live capture tests' ports (30000–49999) and nfacctd's.
        let port = chosen ?? UInt16(50_000 + Int.random(in: 0..<5_000))
        let collector = try startCollector("/usr/bin/nfcapd", ["-b", host, "-p", String(port), "-w", directory])
        Thread.sleep(forTimeInterval: 0.5)  // listening
        try body(port)
        Thread.sleep(forTimeInterval: 0.5)  // the last datagrams read
        collector.terminate()  // SIGTERM: nfcapd writes its file and exits
        collector.waitUntilExit()
        // nfcapd checks each message's sequence number against the data records before it.
        let info = try runProcess("/usr/bin/nfdump", ["-I", "-R", directory]).out
        #expect(info.contains("Sequence failures: 0"), "nfcapd counted sequence failures: \(info)")
        return try runProcess("/usr/bin/nfdump", ["-R", directory, "-o", "raw", "-q"]).out
    }

    static func parse(_ raw: String) -> [Flow] {
        var flows: [Flow] = [], current: Flow?
        for line in raw.split(separator: "\n") {
            if line.hasPrefix("Flow Record") {
                if let current { flows.append(current) }
                current = Flow()
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, current != nil else { continue }
            let value = String(parts[1].split(separator: " ").first ?? "")
            switch parts[0] {
            case "first": current!.first = Int(value) ?? -1
            case "last": current!.last = Int(value) ?? -1
            case "src addr": current!.source = value
            case "dst addr": current!.destination = value
            case "src port": current!.sourcePort = Int(value) ?? -1
            case "dst port": current!.destinationPort = Int(value) ?? -1
            case "proto": current!.proto = Int(value) ?? -1
            case "ICMP":  // "8.0  type.code", in place of the ports
                let typeCode = value.split(separator: ".").compactMap { Int($0) }
                if typeCode.count == 2 { current!.destinationPort = typeCode[0] * 256 + typeCode[1] }
            case "in packets": current!.inPackets = Int(value) ?? -1
            case "in bytes": current!.inBytes = Int(value) ?? -1
            case "out packets": current!.outPackets = Int(value) ?? -1
            case "out bytes": current!.outBytes = Int(value) ?? -1
            default: break
            }
        }
        if let current { flows.append(current) }
        return flows
    }

    /// The flows `conn --format json` lists, as nfdump should show them.
    func expected(_ capture: String, uniflow: Bool) throws -> [Flow] {
        let rows = try conn([capture, "--format", "json", "-C"]).out.split(separator: "\n")
        var flows: [Flow] = []
        for line in rows {
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let start = (row["ts_ns"] as? Int).map { $0 / 1_000_000 } ?? Int(((row["ts"] as! Double) * 1000).rounded(.down))
            let end = start + Int((((row["duration"] as? Double) ?? 0) * 1000).rounded(.down))
            let proto = row["ip_proto"] as! Int
            let icmp = row["proto"] as? String == "icmp"
            var f = Flow(first: start, last: end, source: row["id.orig_h"] as! String, destination: row["id.resp_h"] as! String,
                         sourcePort: icmp ? 0 : row["id.orig_p"] as! Int, destinationPort: icmp ? 0 : row["id.resp_p"] as! Int,
                         proto: proto, inPackets: row["orig_pkts"] as! Int, inBytes: row["orig_ip_bytes"] as! Int,
                         outPackets: row["resp_pkts"] as! Int, outBytes: row["resp_ip_bytes"] as! Int)
            if icmp { f.destinationPort = (row["id.orig_p"] as! Int) * 256 + (row["id.resp_p"] as! Int) }  // nfdump: type.code
            if uniflow {
                var reply = Flow(first: f.first, last: f.last, source: f.destination, destination: f.source,
                                 sourcePort: f.destinationPort, destinationPort: f.sourcePort, proto: proto,
                                 inPackets: f.outPackets, inBytes: f.outBytes)
                f.outPackets = 0; f.outBytes = 0
                flows.append(f)
                if reply.inPackets > 0 {
                    if icmp { reply.sourcePort = 0; reply.destinationPort = f.destinationPort }
                    flows.append(reply)
                }
            } else {
                flows.append(f)
            }
        }
        return flows
    }

    /// nfdump's address text and FlowTrack's, both read back as addresses.
    static func normalized(_ flows: [Flow]) -> [Flow] {
        flows.map { f in
            var f = f
            f.source = IPAddress(f.source)?.description ?? f.source
            f.destination = IPAddress(f.destination)?.description ?? f.destination
            return f
        }.sorted { $0.description < $1.description }
    }

    @Test(arguments: [("conn-sf.pcap", false), ("conn-ipv6.pcap", false), ("conn-udp.pcap", false), ("conn-icmp.pcap", false),
                      ("many-flows.pcap", false), ("tn-vxlan.pcap", false), ("conn-sf.pcap", true), ("conn-icmp.pcap", true),
                      ("many-flows.pcap", true)])
    func everyConnectionReachesNfcapd(capture: String, uniflow: Bool) throws {
        let path = Paths.fixture(capture)
        let want = try expected(path, uniflow: uniflow)
        #expect(!want.isEmpty)
        let got = try collected { port in
            let run = try conn([path, "--format", "json", "-C", "--ipfix", "127.0.0.1:\(port)"] + (uniflow ? ["--ipfix-uniflow"] : []))
            #expect(run.status == .success && run.err.isEmpty, "\(run.err)")
        }
        let a = Self.normalized(got), b = Self.normalized(want)
        #expect(a.count == b.count, "\(capture): nfcapd stored \(a.count) flows, conn lists \(b.count)")
        #expect(a == b, "\(capture): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0) ≠ \($1)" } ?? "none")")
    }

    /// An IPv6 collector (nfcapd bound to ::1) receives the same as an IPv4 one.
    @Test(.enabled(if: CaptureInterface.all().contains { $0.isLoopback && $0.addresses.contains("::1") }, "needs ::1 on the loopback"))
    func anIPv6CollectorReceivesEveryConnection() throws {
        let path = Paths.fixture("conn-ipv6.pcap")
        let got = try collected(host: "::1") { port in
            let run = try conn([path, "--format", "json", "-C", "--ipfix", "[::1]:\(port)"])
            #expect(run.status == .success && run.err.isEmpty, "\(run.err)")
        }
        let want = try expected(path, uniflow: false)
        #expect(Self.normalized(got) == Self.normalized(want) && !want.isEmpty)
    }

    /// The live meter: a UDP flow on loopback lasting 4 s, captured with --active-timeout 1,
    /// reaches nfcapd as interim records (flowEndReason active timeout) and a last one at the
    /// end of the capture, whose counts add up to what was sent.
    @Test(.enabled(if: StandardStream.isRoot, "live capture needs root (CI runs as root)"))
    func liveExportsLongConnectionsAsDeltaRecords() throws {
        let udpPort = 30_000 + Int(getpid() % 10_000)
        let sender = "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            + "for i in range(8):\n    s.sendto(b'x' * 100, ('127.0.0.1', \(udpPort)))\n    time.sleep(0.5)\n"
        var liveErr = ""
        let raw = try collectedRaw { port in
            let live = try runProcess(binaryPath, ["live", "-i", "lo", "-f", "udp dst port \(udpPort)", "--duration", "6", "-C",
                                                   "--ipfix", "127.0.0.1:\(port)", "--active-timeout", "1"]) { _ in
                Thread.sleep(forTimeInterval: 1.0)  // capturing
                _ = try runProcess("/usr/bin/env", ["python3", "-c", sender])
            }
            #expect(live.status == 0, "\(live.err)")
            liveErr = live.err
        }
        let flows = Self.parse(raw).filter { $0.destinationPort == udpPort }
        #expect(flows.count >= 3, "interim records, then the last one: \(flows)")
        #expect(flows.reduce(0) { $0 + $1.inPackets } == 8)
        #expect(flows.reduce(0) { $0 + $1.inBytes } == 8 * (20 + 8 + 100))
        #expect(raw.components(separatedBy: "active timeout").count - 1 == flows.count - 1, "all but the last are interim")
        #expect(liveErr.contains("flowtrack: IPFIX: 1 connections"))
    }

    /// A collector restarted in the middle of an export (a new nfcapd on the same port, which
    /// knows no template) stores records again once the templates are resent, every 10
    /// messages here; the records it stores are connections of the capture.
    @Test func aRestartedCollectorLearnsTheTemplatesAgain() throws {
        var connections: [Connection] = []
        var tracker = FlowTracker()
        try tracker.run(file: Paths.fixture("many-flows.pcap")) { if case let .ended(c) = $0 { connections.append(c) } }
        tracker.finish { if case let .ended(c) = $0 { connections.append(c) } }
        #expect(connections.count == 3000)
        let port = UInt16(60_000 + Int(getpid() % 1000))
        let exporter = try IPFIXExporter(host: "127.0.0.1", port: port, templateRefreshMessages: 10)
        let first = try collected(port: port) { _ in
            for c in connections.prefix(1500) { exporter.export(c) }
            exporter.finish()
        }
        let second = try collected(port: port) { _ in
            for c in connections.dropFirst(1500) { exporter.export(c) }
            exporter.finish()
        }
        #expect(first.count == 1500, "the first collector heard the templates first")
        // The second misses what came before the next template set: at most 10 messages of
        // 19 records (70-byte IPv4 biflow records in 1,400-byte messages).
        #expect(second.count >= 1500 - 10 * 19 && second.count <= 1500, "\(second.count) of 1500")
        let known = Set(connections.map { "\($0.originator.port) \($0.responder.port) \($0.originatorCounters.packets)" })
        #expect(second.allSatisfy { known.contains("\($0.sourcePort) \($0.destinationPort) \($0.inPackets)") })
    }

    @Test func aMissingCollectorIsReportedAndTheRunGoesOn() throws {
        // Nothing listens on the port: the ICMP port unreachable makes later sends fail. (Not
        // port 9, which the live capture tests watch as a port nothing is sent to.)
        let port = 61_000 + Int(getpid() % 1000)
        let run = try conn([Paths.fixture("many-flows.pcap"), "--format", "json", "-C", "--ipfix", "127.0.0.1:\(port)"])
        #expect(run.status == .success)
        #expect(run.out.split(separator: "\n").count == 3000, "the rows are still written")
        #expect(run.err.contains("messages to 127.0.0.1:\(port) were refused"))
    }
}

/// The same export received by pmacct's nfacctd, which prints what it aggregates to a CSV
/// file. nfacctd reads the forward counters of an RFC 5103 biflow record and not the reverse
/// elements, so it is fed two unidirectional records per connection (`--ipfix-uniflow`).
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/nfacctd"),
                            "needs pmacct's nfacctd (CI installs the pmacct package)"))
struct IPFIXNfacctdTests {
    /// Runs nfacctd on a free loopback port around `body`; the flows it printed.
    func collected(_ body: (UInt16) throws -> Void) throws -> [IPFIXExportTests.Flow] {
        let directory = Paths.temporary("nfacctd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = UInt16(55_000 + Int.random(in: 0..<5_000))  // 55000–59999 (nfcapd's: 50000–54999)
        let output = directory + "/flows.csv"
        let config = """
            daemonize: false
            nfacctd_ip: 127.0.0.1
            nfacctd_port: \(port)
            plugins: print
            print_output: csv
            print_output_file: \(output)
            print_output_file_append: true
            print_refresh_time: 1
            timestamps_utc: true
            aggregate: src_host, dst_host, src_port, dst_port, proto, timestamp_start, timestamp_end
            """
        try config.write(toFile: directory + "/nfacctd.conf", atomically: true, encoding: .utf8)
        let collector = try startCollector("/usr/sbin/nfacctd", ["-f", directory + "/nfacctd.conf"])
        Thread.sleep(forTimeInterval: 1.0)  // listening
        try body(port)
        Thread.sleep(forTimeInterval: 2.5)  // two print refreshes
        collector.interrupt()  // SIGINT: the cache is printed and nfacctd exits
        collector.waitUntilExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").dropFirst().compactMap { line -> IPFIXExportTests.Flow? in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 9, f[0] != "SRC_IP" else { return nil }
            let protocols = ["tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58]
            return IPFIXExportTests.Flow(first: Self.milliseconds(f[5]), last: Self.milliseconds(f[6]), source: f[0], destination: f[1],
                                         sourcePort: Int(f[2]) ?? -1, destinationPort: Int(f[3]) ?? -1,
                                         proto: protocols[f[4]] ?? Int(f[4]) ?? -1, inPackets: Int(f[7]) ?? -1, inBytes: Int(f[8]) ?? -1)
        }
    }

    /// "2023-11-14 22:13:20.600000" (UTC) as milliseconds since 1970.
    static func milliseconds(_ text: String) -> Int {
        let parts = text.split(whereSeparator: { " -:".contains($0) }).map(String.init)
        guard parts.count == 6, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              let hh = Int(parts[3]), let mm = Int(parts[4]), let seconds = Double(parts[5]) else { return -1 }
        // Days from the civil date (Howard Hinnant's algorithm).
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
        return (days * 86_400 + hh * 3600 + mm * 60) * 1000 + Int((seconds * 1000).rounded())
    }

    @Test(arguments: ["conn-sf.pcap", "conn-ipv6.pcap", "conn-udp.pcap", "many-flows.pcap"])
    func everyConnectionReachesNfacctd(capture: String) throws {
        let path = Paths.fixture(capture)
        let want = try IPFIXExportTests().expected(path, uniflow: true)
        let got = try collected { port in
            let run = try conn([path, "--format", "json", "-C", "--ipfix", "127.0.0.1:\(port)", "--ipfix-uniflow"])
            #expect(run.status == .success && run.err.isEmpty, "\(run.err)")
        }
        let a = IPFIXExportTests.normalized(got), b = IPFIXExportTests.normalized(want)
        #expect(a.count == b.count, "\(capture): nfacctd printed \(a.count) flows, conn's rows make \(b.count)")
        #expect(a == b, "\(capture): first difference \(zip(a, b).first { $0 != $1 }.map { "\($0) ≠ \($1)" } ?? "none")")
    }
}
