import FlowTrack
import Foundation
import Testing

/// Live capture on `lo` with traffic the tests generate themselves
/// (Fixtures/helpers/loopback_peer.py: fixed byte counts each way). Needs root,
/// as CI has; skipped with a reason otherwise.
@Suite(.serialized, .enabled(if: StandardStream.isRoot, "live capture needs root (CI runs as root)"))
struct LiveCaptureTests {
    static let peer = Paths.fixture("helpers/loopback_peer.py")

    /// Starts the binary, runs `traffic` once it is capturing, and waits for it to end.
    func live(_ arguments: [String], traffic: () throws -> Void) throws -> (status: Int32, out: String, err: String) {
        try runProcess(binaryPath, arguments) { _ in
            Thread.sleep(forTimeInterval: 1.0)  // let it activate
            try traffic()
        }
    }

    func runPeer(_ arguments: [String]) throws {
        let run = try runProcess("/usr/bin/env", ["python3", Self.peer] + arguments)
        #expect(run.status == 0, "\(run.err)")
    }

    /// One thread, and the reading thread feeding a tracking thread.
    @Test(arguments: [1, 2]) func tracksRealLoopbackTrafficWithExactBytes(threads: Int) throws {
        let base = 40_000 + Int(getpid() % 2500) * 4 + threads * 2
        let tcpPort = base, udpPort = base + 1
        let result = try live(["live", "-i", "lo", "-f", "port \(tcpPort) or port \(udpPort)", "--duration", "4", "-C",
                               "--threads", String(threads)]) {
            try runPeer(["tcp", "127.0.0.1", String(tcpPort), "1000", "2500"])
            try runPeer(["udp", "127.0.0.1", String(udpPort), "60", "300"])
        }
        #expect(result.status == 0)
        let ended = try result.out.split(separator: "\n").filter { $0.hasPrefix("- ") }
            .map { try JSONSerialization.jsonObject(with: Data($0.dropFirst(2).utf8)) as! [String: Any] }
        let tcp = try #require(ended.first { $0["proto"] as? String == "tcp" })
        #expect(tcp["id.resp_p"] as? Int == tcpPort && tcp["service"] == nil)
        #expect(tcp["conn_state"] as? String == "SF")
        #expect(tcp["history"] as? String == "ShADadfF")  // the server closes first (loopback_peer.py)
        #expect(tcp["orig_bytes"] as? Int == 1000 && tcp["resp_bytes"] as? Int == 2500)
        let udp = try #require(ended.first { $0["proto"] as? String == "udp" })
        #expect(udp["id.resp_p"] as? Int == udpPort && udp["conn_state"] as? String == "SF")
        #expect(udp["orig_bytes"] as? Int == 60 && udp["resp_bytes"] as? Int == 300)
        #expect(result.out.contains("+ {") && result.out.contains("~ {"))
        #expect(result.err.contains("packets captured on lo; kernel:") && result.err.contains("dropped"))
    }

    @Test func writesTheRawPackets() throws {
        let port = 45_000 + Int(getpid() % 5000)
        let file = Paths.temporary("live.pcap")
        let result = try live(["live", "-i", "lo", "-f", "udp port \(port)", "-c", "2", "--duration", "5", "-C", "-w", file]) {
            try runPeer(["udp", "127.0.0.1", String(port), "60", "300"])
        }
        #expect(result.status == 0)
        var read = try PcapFile(path: file)
        var sizes: [Int] = []
        while let n = try read.next({ meta, _ in meta.wireLength }) { sizes.append(n) }
        #expect(sizes == [14 + 20 + 8 + 60, 14 + 20 + 8 + 300])
    }

    @Test func withoutPrivilegesTheMessageSaysWhatIsMissing() throws {
        let run = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binaryPath, "live", "-i", "lo", "--duration", "1"])
        let text = run.err
        #expect(run.status == 7)
        #expect(text.contains("CAP_NET_RAW") && text.contains("setcap cap_net_raw,cap_net_admin=eip") && text.contains("libpcap: "))
        #expect(text.split(separator: "\n").count == 1)
    }

    @Test func sigintStopsCleanlyWithTheFinalStatistics() throws {
        var reason = Process.TerminationReason.uncaughtSignal
        let run = try runProcess(binaryPath, ["live", "-i", "lo", "-f", "udp port 9"]) { process in
            Thread.sleep(forTimeInterval: 1.0)
            process.interrupt()  // SIGINT
            process.waitUntilExit()
            reason = process.terminationReason
        }
        let text = run.err
        #expect(reason == .exit && run.status == 0)
        #expect(text.contains("packets captured on lo; kernel:"))
    }

    @Test(arguments: [1, 2]) func idleConnectionsEndOnTheClockWhileTheWireIsSilent(threads: Int) async throws {
        let port = 47_000 + Int(getpid() % 1000) * 2 + threads
        var configuration = TrackerConfiguration()
        configuration.threads = threads  // with 2, the clock ticks reach the tracking thread
        configuration.verifyChecksums = false
        configuration.udpInactivityTimeout = 1
        configuration.events = [.ended]
        let stop = CaptureStop()
        let events = FlowTracker.liveEvents(interface: "lo", filter: "udp port \(port)", stop: stop, configuration: configuration)
        let consumer = Task { () -> [Connection] in
            var ended: [Connection] = []
            for try await event in events {
                if case let .ended(c) = event {
                    ended.append(c)
                    if c.endReason == .timeout { stop.stop() }  // it ended while nothing was on the wire
                }
            }
            return ended
        }
        try await Task.sleep(for: .seconds(1))
        try runPeer(["udp", "127.0.0.1", String(port), "60", "300"])
        let deadline = Task { try await Task.sleep(for: .seconds(8)); stop.stop() }
        let ended = try await consumer.value
        deadline.cancel()
        #expect(ended.count == 1)
        #expect(ended.first?.endReason == .timeout)
    }

    @Test func unknownInterfaceListsTheAvailableOnes() throws {
        let result = try runBinary(["live", "-i", "nosuch0", "--duration", "1"])
        #expect(result.status == 8)
        #expect(result.err.contains("nosuch0: no such interface; available:") && result.err.contains("lo"))
    }

    @Test func nonBlockingReadsReturnWhenTheWireIsSilent() throws {
        var capture = try LiveCapture(interface: "lo", filter: "udp port 9")
        let start = Date()
        let got = try capture.next(waiting: 200) { _, _ in true }
        #expect(got == nil)
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(capture.statistics() != nil)
        #expect(CaptureInterface.all().contains { $0.name == "lo" && $0.isLoopback && $0.addresses.contains("127.0.0.1") })
    }

    @Test func asyncEventsEndWhenStopped() async throws {
        let port = 46_000 + Int(getpid() % 5000)
        var configuration = TrackerConfiguration()
        configuration.verifyChecksums = false
        let stop = CaptureStop()
        let events = FlowTracker.liveEvents(interface: "lo", filter: "udp port \(port)", stop: stop, configuration: configuration)
        let consumer = Task { () -> [Connection] in
            var ended: [Connection] = []
            for try await event in events { if case let .ended(c) = event { ended.append(c) } }
            return ended
        }
        try await Task.sleep(for: .seconds(1))
        try runPeer(["udp", "127.0.0.1", String(port), "60", "300"])
        try await Task.sleep(for: .seconds(1))
        stop.stop()
        let ended = try await consumer.value
        // Stopping ended the capture and flushed the open connection; the sequence finished.
        #expect(ended.count == 1)
        #expect(ended.first?.endReason == .endOfInput && ended.first?.connState == .sf)
    }
}

@Suite struct InterfacesCommandTests {
    @Test func listsLoopbackWithItsAddresses() throws {
        let table = try runBinary(["interfaces"])
        #expect(table.status == 0 && table.out.hasPrefix("Name"))
        let lo = try #require(table.out.split(separator: "\n").first { $0.hasPrefix("lo ") })
        #expect(lo.contains("loopback") && lo.contains("127.0.0.1"))
        let json = try runBinary(["interfaces", "--format", "json"])
        let objects = try json.out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let loopback = try #require(objects.first { $0["name"] as? String == "lo" })
        #expect((loopback["flags"] as? [String])?.contains("loopback") == true)
    }
}

@Suite(.enabled(if: StandardStream.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/script"),
                "needs root and script(1)"))
struct LiveTerminalTests {
    @Test func aTerminalGetsARefreshingTableThenTheFinalOne() throws {
        let out = try runOnTerminal("\(binaryPath) live -i lo -f 'udp port 9' --duration 2 --interval 0.5")
        #expect(out.components(separatedBy: "flowtrack live on lo:").count >= 3)  // refreshed at least twice
        #expect(out.contains("Proto  Local Address  Foreign Address  State"))
        #expect(out.contains("packets captured on lo; kernel:"))
    }
}
