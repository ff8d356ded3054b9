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
    /// `exporters`, if given, gets `nfdump -E` of each file (the exporters nfcapd saw, with
    /// their observation domains).
    func collectedRaw(port chosen: UInt16? = nil, host: String = "127.0.0.1", exporters: ((String) -> Void)? = nil,
                      _ body: (UInt16) throws -> Void) throws -> String {
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
        if let exporters {
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("nfcapd.") {
                exporters(try runProcess("/usr/bin/nfdump", ["-E", directory + "/" + file]).out)
            }
        }
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

    /// `--ipfix-domain 77`: nfcapd files the records under an exporter with observation
    /// domain 77.
    @Test func theObservationDomainReachesNfcapd() throws {
        var exporters = ""
        let raw = try collectedRaw(exporters: { exporters += $0 }) { port in
            let run = try conn([Paths.fixture("conn-sf.pcap"), "-C", "--ipfix", "127.0.0.1:\(port)", "--ipfix-domain", "77"])
            #expect(run.status == .success && run.err.isEmpty, "\(run.err)")
        }
        #expect(Self.parse(raw).count == 1)
        #expect(exporters.contains("version: 10, ID: 77,"), "\(exporters)")
    }

    /// A TCP collector on ::1 receives the same as an IPv4 one.
    @Test(.enabled(if: CaptureInterface.all().contains { $0.isLoopback && $0.addresses.contains("::1") }, "needs ::1 on the loopback"))
    func anIPv6TCPCollectorReceivesEveryConnection() throws {
        let path = Paths.fixture("many-flows.pcap")
        var log = ""
        let got = try collected { port in
            log = try relayed(listen: port, collector: port, ipv6: true) {
                let run = try conn([path, "--format", "json", "-C", "--ipfix", "[::1]:\(port)", "--ipfix-transport", "tcp"])
                #expect(run.status == .success && run.err.isEmpty, "\(run.err)")
            }
        }
        let want = try expected(path, uniflow: false)
        #expect(!want.isEmpty && Self.normalized(got) == Self.normalized(want), "\(got.count) of \(want.count)")
        #expect(log.hasPrefix("connection 1: "), "\(log)")
    }

    /// The live meter: a UDP flow on loopback lasting 4 s, captured with --active-timeout 1,
    /// reaches nfcapd as interim records (flowEndReason active timeout) and a last one at the
    /// end of the capture, whose counts add up to what was sent; over UDP and over TCP.
    @Test(.enabled(if: StandardStream.isRoot, "live capture needs root (CI runs as root)"), arguments: ["udp", "tcp"])
    func liveExportsLongConnectionsAsDeltaRecords(transport: String) throws {
        let udpPort = 30_000 + Int(getpid() % 10_000) + (transport == "tcp" ? 1 : 0)
        let sender = "import socket, time\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            + "for i in range(8):\n    s.sendto(b'x' * 100, ('127.0.0.1', \(udpPort)))\n    time.sleep(0.5)\n"
        var liveErr = ""
        let raw = try collectedRaw { port in
            func capture() throws {
                let live = try runProcess(binaryPath, ["live", "-i", "lo", "-f", "udp dst port \(udpPort)", "--duration", "6", "-C",
                                                       "--ipfix", "127.0.0.1:\(port)", "--ipfix-transport", transport,
                                                       "--active-timeout", "1"]) { _ in
                    Thread.sleep(forTimeInterval: 1.0)  // capturing
                    _ = try runProcess("/usr/bin/env", ["python3", "-c", sender])
                }
                #expect(live.status == 0, "\(live.err)")
                liveErr = live.err
            }
            if transport == "tcp" { _ = try relayed(listen: port, collector: port, capture) } else { try capture() }
        }
        let flows = Self.parse(raw).filter { $0.destinationPort == udpPort }
        #expect(flows.count >= 3, "interim records, then the last one: \(flows)")
        #expect(flows.reduce(0) { $0 + $1.inPackets } == 8)
        #expect(flows.reduce(0) { $0 + $1.inBytes } == 8 * (20 + 8 + 100))
        #expect(raw.components(separatedBy: "active timeout").count - 1 == flows.count - 1, "all but the last are interim")
        #expect(liveErr.contains("flowtrack: IPFIX: 1 connections") && liveErr.contains("over \(transport.uppercased())"), "\(liveErr)")
        #expect(!liveErr.contains("not delivered"), "\(liveErr)")
    }

    /// A collector restarted in the middle of an export (a new nfcapd on the same port, which
    /// knows no template) stores records again once the templates are resent, every 10
    /// messages here; the records it stores are connections of the capture.
    @Test func aRestartedCollectorLearnsTheTemplatesAgain() throws {
        let connections = try Self.connections()
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

    /// Runs `scripts/ipfix_tcp_relay.py` (TCP on `listen`, each message as a datagram to
    /// nfcapd on `collector`) around `body`; the relay's log, a line per connection it saw end.
    func relayed(listen: UInt16, collector: UInt16, ipv6: Bool = false, _ body: () throws -> Void) throws -> String {
        let log = Paths.temporary("relay-\(UUID().uuidString).log")
        let relay = try startCollector("/usr/bin/python3", [Paths.repository + "/scripts/ipfix_tcp_relay.py", String(listen),
                                                            String(collector), log, "--pace"] + (ipv6 ? ["--ipv6"] : []))
        Thread.sleep(forTimeInterval: 0.4)  // listening
        try body()
        Thread.sleep(forTimeInterval: 0.5)  // the last messages relayed
        relay.terminate()
        relay.waitUntilExit()
        return (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    /// The connections of a capture (many-flows.pcap by default), as a tracker ends them.
    static func connections(_ capture: String = "many-flows.pcap") throws -> [Connection] {
        var connections: [Connection] = []
        var tracker = FlowTracker()
        try tracker.run(file: Paths.fixture(capture)) { if case let .ended(c) = $0 { connections.append(c) } }
        tracker.finish { if case let .ended(c) = $0 { connections.append(c) } }
        return connections
    }

    /// `--ipfix-transport tcp`: the stream, cut into messages by their length fields and
    /// relayed to nfcapd, holds every connection, with sequence numbers nfcapd accepts, in
    /// one TCP connection that FlowTrack closes at the end.
    @Test(arguments: ["many-flows.pcap", "conn-ipv6.pcap", "conn-icmp.pcap"])
    func everyConnectionReachesNfcapdOverTCP(capture: String) throws {
        let path = Paths.fixture(capture)
        var log = ""
        let got = try collected { port in
            log = try relayed(listen: port, collector: port) {
                let run = try conn([path, "--format", "json", "-C", "--ipfix", "127.0.0.1:\(port)", "--ipfix-transport", "tcp"])
                #expect(run.status == .success && run.err.isEmpty, "\(run.err)")
            }
        }
        let want = try expected(path, uniflow: false)
        #expect(!want.isEmpty && Self.normalized(got) == Self.normalized(want), "\(capture): \(got.count) of \(want.count) flows")
        #expect(log.split(separator: "\n").count == 1 && log.hasPrefix("connection 1: ") && !log.contains("bad"), "\(log)")
    }

    /// A TCP collector that is not there yet: the first attempts fail, the messages wait in
    /// the queue, the exporter connects once the collector is up (backoff), and nothing is lost.
    @Test func aTCPCollectorStartingLateGetsEverything() throws {
        let connections = try Self.connections()
        let port = UInt16(60_100 + Int(getpid() % 800))
        let exporter = try IPFIXExporter(host: "127.0.0.1", port: port, transport: .tcp)
        for c in connections.prefix(1500) { exporter.export(c) }
        #expect(exporter.sendFailures >= 1 && exporter.connectionsMade == 0 && exporter.recordsSent == 0)
        let got = try collected(port: port) { port in
            _ = try relayed(listen: port, collector: port) {
                for c in connections.dropFirst(1500) { exporter.export(c) }
                exporter.finish(timeout: .seconds(10))
            }
        }
        #expect(exporter.connectionsMade == 1 && exporter.recordsDropped == 0)
        #expect(got.count == 3000 && exporter.recordsSent == 3000, "\(got.count) stored, \(exporter.recordsSent) sent")
    }

    /// A TCP collector that goes away in the middle (the relay stopped, another started on the
    /// same port): the exporter sees the connection closed before its next message, connects
    /// again with the templates first, and the two collectors together store every connection.
    @Test func aTCPCollectorRestartedMidStreamLosesNothing() throws {
        let connections = try Self.connections()
        let port = UInt16(60_100 + Int(getpid() % 800))
        let exporter = try IPFIXExporter(host: "127.0.0.1", port: port, transport: .tcp)
        let first = try collected(port: port) { port in
            _ = try relayed(listen: port, collector: port) {
                for c in connections.prefix(1500) { exporter.export(c) }
            }
        }
        let second = try collected(port: port) { port in
            _ = try relayed(listen: port, collector: port) {
                for c in connections.dropFirst(1500) { exporter.export(c) }
                exporter.finish(timeout: .seconds(10))
            }
        }
        // The records of the message still being filled went to the second collector.
        #expect(first.count > 1400 && first.count <= 1500, "\(first.count)")
        #expect(first.count + second.count == 3000, "\(first.count) + \(second.count)")
        #expect(exporter.connectionsMade == 2 && exporter.recordsDropped == 0)
        #expect(exporter.lastError == "the collector closed the connection")
    }

    /// The TCP queue is bounded: with the collector away, what does not fit is dropped and
    /// counted; once it is up, it receives exactly the records reported sent.
    @Test func theTCPQueueIsBoundedAndItsDropsCounted() throws {
        let connections = try Self.connections()
        let port = UInt16(60_100 + Int(getpid() % 800))
        let exporter = try IPFIXExporter(host: "127.0.0.1", port: port, transport: .tcp, queueLimit: 65_536)
        for c in connections { exporter.export(c) }
        #expect(exporter.recordsDropped > 0, "3,000 records of 70 bytes do not fit in 64 KiB")
        let got = try collected(port: port) { port in
            _ = try relayed(listen: port, collector: port) { exporter.finish(timeout: .seconds(10)) }
        }
        #expect(got.count == Int(exporter.recordsSent) && got.count + exporter.recordsDropped == 3000,
                "\(got.count) stored, \(exporter.recordsSent) sent, \(exporter.recordsDropped) dropped")
        #expect(got.count >= 65_536 / 1400 * 19 - 19, "a full queue's worth arrived: \(got.count)")
        let known = Set(connections.map { "\($0.originator.port) \($0.responder.port) \($0.originatorCounters.packets)" })
        #expect(got.allSatisfy { known.contains("\($0.sourcePort) \($0.destinationPort) \($0.inPackets)") })
    }

    /// `conn --ipfix-transport tcp` with no collector: the rows are written, and stderr says
    /// how many records were not delivered and why.
    @Test func aMissingTCPCollectorIsReported() throws {
        let port = 61_000 + Int(getpid() % 1000)
        let run = try conn([Paths.fixture("many-flows.pcap"), "--format", "json", "-C", "--ipfix", "127.0.0.1:\(port)",
                            "--ipfix-transport", "tcp"])
        #expect(run.status == .success)
        #expect(run.out.split(separator: "\n").count == 3000, "the rows are still written")
        #expect(run.err.contains("3000 of 3000 records were not delivered to 127.0.0.1:\(port) over TCP (Connection refused"), "\(run.err)")
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
        try printed(body).compactMap { f -> IPFIXExportTests.Flow? in
            let protocols = ["tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58]
            return IPFIXExportTests.Flow(first: Self.milliseconds(f[5]), last: Self.milliseconds(f[6]), source: f[0], destination: f[1],
                                         sourcePort: Int(f[2]) ?? -1, destinationPort: Int(f[3]) ?? -1,
                                         proto: protocols[f[4]] ?? Int(f[4]) ?? -1, inPackets: Int(f[7]) ?? -1, inBytes: Int(f[8]) ?? -1)
        }
    }

    /// Runs nfacctd on a free loopback port around `body`, aggregating by `aggregate`
    /// (with custom primitives `primitives`); the CSV lines it printed, split into fields.
    func printed(aggregate: String = "src_host, dst_host, src_port, dst_port, proto, timestamp_start, timestamp_end",
                 primitives: String? = nil, _ body: (UInt16) throws -> Void) throws -> [[String]] {
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
            aggregate: \(aggregate)

            """
        var full = config
        if let primitives {
            try primitives.write(toFile: directory + "/primitives.lst", atomically: true, encoding: .utf8)
            full += "aggregate_primitives: \(directory)/primitives.lst\n"
        }
        try full.write(toFile: directory + "/nfacctd.conf", atomically: true, encoding: .utf8)
        let collector = try startCollector("/usr/sbin/nfacctd", ["-f", directory + "/nfacctd.conf"])
        Thread.sleep(forTimeInterval: 1.0)  // listening
        try body(port)
        Thread.sleep(forTimeInterval: 2.5)  // two print refreshes
        collector.interrupt()  // SIGINT: the cache is printed and nfacctd exits
        collector.waitUntilExit()
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> [String]? in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return f.count >= 4 && f[0] != "SRC_IP" ? f : nil
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

    /// `--ipfix-enterprise 32473`: nfacctd, told the three elements (PEN 32473, ids 1–3,
    /// variable-length strings) in its aggregate_primitives file, prints each connection's
    /// conn_state, history and Community ID as `conn --community-id` lists them.
    @Test(arguments: ["conn-sf.pcap", "conn-ipv6.pcap", "conn-icmp.pcap", "many-flows.pcap"])
    func enterpriseElementsReachNfacctd(capture: String) throws {
        let path = Paths.fixture(capture)
        var want: Set<String> = []
        for line in try conn([path, "--format", "json", "-C", "--community-id"]).out.split(separator: "\n") {
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let state = row["conn_state"] as! String, history = row["history"] as? String ?? ""
            let id = row["community_id"] as! String
            let host = { (key: String) in IPAddress(row[key] as! String)!.description }
            want.insert("\(host("id.orig_h")) \(host("id.resp_h")) \(state) \(history) \(id)")
        }
        let primitives = """
            name=ft_state field_type=32473:1 len=vlen semantics=str
            name=ft_history field_type=32473:2 len=vlen semantics=str
            name=ft_cid field_type=32473:3 len=vlen semantics=str

            """
        let rows = try printed(aggregate: "src_host, dst_host, ft_state, ft_history, ft_cid", primitives: primitives) { port in
            let run = try conn([path, "-C", "--format", "json", "--ipfix", "127.0.0.1:\(port)", "--ipfix-uniflow",
                                "--ipfix-enterprise", "32473"])
            #expect(run.status == .success && run.err.isEmpty, "\(run.err)")
        }
        // Uniflow: the reply record carries the same strings with the addresses swapped.
        let got = Set(rows.map { f in
            let (a, b) = (IPAddress(f[0])?.description ?? f[0], IPAddress(f[1])?.description ?? f[1])
            let key = "\(a) \(b) \(f[2]) \(f[3]) \(f[4])"
            return want.contains(key) ? key : "\(b) \(a) \(f[2]) \(f[3]) \(f[4])"
        })
        #expect(!want.isEmpty && got == want, "\(capture): \(got.subtracting(want).first ?? "") / \(want.subtracting(got).first ?? "")")
    }
}
