// Every Swift snippet of README.md, the DocC catalogs and the documentation comments, as
// written there, inside a function so that the compiler checks it; SnippetTests checks that
// each snippet appears here verbatim and runs the ones that read a capture.
// Keep the two in step: edit the snippet in its document, then here.
import FlowTrack

enum Snippets {
    /// From README.md.
    static func snippet01() async throws {

        var tracker = FlowTracker()                       // Zeek's defaults; see TrackerConfiguration
        try tracker.run(file: "trace.pcap", filter: "tcp") { event in
            if case let .ended(c) = event {
                print(c.originator, "→", c.responder, c.connState, c.history, c.tcpState.map { "\($0)" } ?? "-",
                      c.originatorCounters.bytes, c.responderCounters.bytes)
            }
        }
        tracker.finish { event in print(event.connection) }   // still open at the end of input
    }

    /// From README.md.
    static func snippet02() async throws {
        var configuration = TrackerConfiguration()
        configuration.events = .all                       // started, stateChanged, ended
        do {
            for try await event in FlowTracker.events(files: ["trace.pcap"], configuration: configuration) {
                if case let .stateChanged(c) = event, let state = c.tcpState { print(c.uid, state, c.connState) }
            }
        } catch .fileNotFound(let path, _) {
            print("no such capture:", path)
        }
    }

    /// From README.md.
    static func snippet03() async throws {
        var states: [ConnState: Int] = [:]
        var demux = PortDemultiplexer()
        demux.register(.tcp, port: 80) { event in
            if case let .ended(c) = event { states[c.connState, default: 0] += 1 }
        }
        var tracker = FlowTracker()
        try tracker.run(file: "trace.pcap") { demux.dispatch($0) }
        tracker.finish { demux.dispatch($0) }
        print(states, demux.unregisteredCount)      // connections to ports nobody registered
    }

    /// From README.md.
    static func snippet04() async throws {
        let stop = CaptureStop()
        for try await event in FlowTracker.liveEvents(interface: "eth0", filter: "tcp", stop: stop) {
            if case let .ended(c) = event { print(c.server, c.connState, c.endReason!) }
        }   // stop.stop() ends the capture; the open connections end with end_of_input
    }

    /// From README.md.
    static func snippet05() async throws {

        var file = try PcapFile(path: "trace.pcap", filter: "tcp")
        let decoder = try PacketDecoder(linkType: file.linkType)
        var packet = DecodedPacket()
        while let meta = try file.next({ meta, bytes in
            decoder.decode(bytes, wireLength: meta.wireLength, into: &packet)   // no copy, no allocation
            return meta
        }) {
            if packet.layers.contains(.tcp) {
                print(meta.timestamp, packet.source, packet.sourcePort, "→",
                      packet.destination, packet.destinationPort, packet.tcp.flags)
            }
        }
    }

    /// From Sources/FlowTrack/FlowTrack.docc/FlowTrack.md.
    static func snippet06() async throws {

        var tracker = FlowTracker()
        try tracker.run(file: "trace.pcap") { event in
            if case let .ended(c) = event {
                print(c.originator, "→", c.responder, c.connState, c.history)
            }
        }
        tracker.finish { event in print(event.connection) }   // still open at the end of input
        print(tracker.statistics.connections.packets, "packets tracked")
    }

    /// From Sources/FlowTrack/FlowTrack.docc/FlowTrack.md.
    static func snippet07() async throws {
        var tracker = FlowTracker()
        var requestBytes = 0
        try tracker.run(file: "trace.pcap", packets: { packet in
            if packet.packet.destinationPort == 80, packet.direction == .original {
                requestBytes += packet.payload.count
            }
        }, events: { _ in })
        print(requestBytes, "bytes sent to port 80")
    }

    /// From Sources/Flows/Flows.docc/Flows.md.
    static func snippet08() async throws {

        var file = try PcapFile(path: "trace.pcap")
        let decoder = try PacketDecoder(linkType: file.linkType)
        var table = ConnectionTable()
        var packet = DecodedPacket()
        var ended: [Connection] = []
        while let time = try file.next({ meta, bytes in
            decoder.decode(bytes, wireLength: meta.wireLength, into: &packet)
            return meta.timestamp
        }) {
            table.process(packet, at: time) { if case let .ended(c) = $0 { ended.append(c) } }
        }
        table.flush { if case let .ended(c) = $0 { ended.append(c) } }
        print(ended.count, "connections,", table.statistics.packets, "packets")
    }

    /// From Sources/Packets/Packets.docc/Packets.md.
    static func snippet09() async throws {

        let decoder = try PacketDecoder(linkType: .ethernet)
        var packet = DecodedPacket()
        let frame: [UInt8] = Array(repeating: 0, count: 60)   // an all-zero Ethernet frame
        decoder.decode(frame.span, wireLength: frame.count, into: &packet)
        print(packet.layers.contains(.ethernet), packet.ipVersion)   // true 0: not IP
    }

    /// From Sources/Pcap/Pcap.docc/Pcap.md.
    static func snippet10() async throws {

        var file = try PcapFile(path: "trace.pcap")
        var packets = 0, bytes = 0
        while let length = try file.next({ meta, frame in meta.wireLength }) {
            packets += 1
            bytes += length
        }
        print(packets, "packets,", bytes, "bytes on the wire,", file.linkType)
    }

    /// From Sources/FlowTrack/ConnectionEvents.swift.
    static func snippet11() async throws {
        do {
            for try await event in FlowTracker.events(files: ["trace.pcap"]) {
                if case let .ended(c) = event { print(c) }
            }
        } catch .fileNotFound(let path, _) {
            print("no such file:", path)
        } catch {
            print(error)   // a CaptureError
        }
    }

    /// From Sources/FlowTrack/FlowTracker.swift.
    static func snippet12() async throws {
        var tracker = FlowTracker()
        try tracker.run(file: "trace.pcap") { event in
            if case let .ended(c) = event { print(c.originator, "→", c.responder, c.connState, c.history) }
        }
        tracker.finish { event in print(event.connection) }   // still open at the end of input
    }

    /// From Sources/FlowTrack/PacketContext.swift.
    static func snippet13() async throws {
        var tracker = FlowTracker()
        var bytesToPort80 = 0
        try tracker.run(file: "trace.pcap", packets: { packet in
            if packet.packet.destinationPort == 80, packet.direction == .original {
                bytesToPort80 += packet.payload.count
            }
        }, events: { _ in })
    }

    /// From Sources/FlowTrack/PortDemultiplexer.swift.
    static func snippet14() async throws {
        var demux = PortDemultiplexer()
        var web = 0
        var others: [UInt16: Int] = [:]
        demux.register(.tcp, ports: 80...89) { event in if case .ended = event { web += 1 } }
        demux.registerFallback { event in
            if case let .ended(c) = event { others[c.server.port, default: 0] += 1 }
        }
        var tracker = FlowTracker()
        try tracker.run(file: "trace.pcap") { demux.dispatch($0) }
        tracker.finish { demux.dispatch($0) }
        print(web, "web connections;", others.count, "other server ports")
    }

    /// From Sources/FlowTrack/Streams.swift.
    static func snippet15() async throws {
        struct FirstLines: StreamHandler {
            var lines: [[UInt8]] = [[], []]
            var done = [false, false]
            mutating func receive(_ bytes: Span<UInt8>, from direction: Direction) {
                let side = direction == .original ? 0 : 1
                for i in bytes.indices where !done[side] {
                    if bytes[i] == UInt8(ascii: "\r") || bytes[i] == UInt8(ascii: "\n") { done[side] = true } else { lines[side].append(bytes[i]) }
                }
            }
            mutating func end(_ reason: StreamEnd) {
                let request = String(decoding: lines[0], as: UTF8.self).split(separator: " ").map(String.init)
                let status = String(decoding: lines[1], as: UTF8.self).split(separator: " ").map(String.init)
                print(request.first ?? "-", status.count > 1 ? status[1] : "-")   // GET 200
            }
        }
        var streams = StreamDemultiplexer()
        streams.register(port: 80) { _ in FirstLines() }
        var tracker = FlowTracker()
        try tracker.run(file: "trace.pcap", streams: &streams)
        tracker.finish { streams.event($0) }     // the streams still open end too
        print(streams.statistics.streams, "HTTP connections")
    }

    /// From Sources/FlowTrack/Streams.swift.
    static func snippet16() async throws {
        var streams = StreamDemultiplexer()
        streams.registerDatagrams(port: 53) { connection, direction, message in
            var name: [String] = []
            var i = 12                                      // after the header
            while i < message.count, message[i] != 0, i + Int(message[i]) < message.count {
                var label = ""
                for j in (i + 1)...(i + Int(message[i])) { label.append(Character(UnicodeScalar(message[j]))) }
                name.append(label)
                i += Int(message[i]) + 1
            }
            print(connection.uid, direction, name.joined(separator: "."))
        }
        var tracker = FlowTracker()
        try tracker.run(file: "dns.pcap", streams: &streams)
    }

    /// From Sources/Packets/Timestamp.swift.
    static func snippet17() async throws {
        let earlier = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
        let later = earlier + .milliseconds(1500)   // a Timestamp
        let idle = later - earlier                  // a Duration
        print(later, idle)                          // 2023-11-14T22:13:21.500000000Z 1.5 seconds
    }

    /// From Sources/Pcap/PcapFile.swift.
    static func snippet18() async throws {
        var file = try PcapFile(path: "trace.pcap")
        while let length = try file.next({ meta, bytes in bytes.count }) { print(length) }
    }

    /// From Sources/Pcap/PcapMerge.swift.
    static func snippet19() async throws {
        var merge = PcapMerge(paths: ["a.pcap", "b.pcap"])
        while true {
            do {
                guard let _ = try merge.next({ source, meta, bytes in bytes.count }) else { break }
            } catch {
                print(merge.paths[error.source], error.error)   // reported; the rest go on
            }
        }
    }

    /// From Sources/FlowTrack/ShardedRun.swift.
    static func snippet20() async throws {
        var configuration = TrackerConfiguration()
        configuration.threads = 3                          // 2 tracking threads
        let tracker = ShardedTracker(configuration: configuration) { event in print(event.connection) }
        var file = try PcapFile(path: "trace.pcap")
        let decoder = try PacketDecoder(linkType: file.linkType)
        var packet = DecodedPacket()
        while let time = try file.next({ meta, bytes in
            decoder.decode(bytes, wireLength: meta.wireLength, into: &packet)
            return meta.timestamp
        }) {
            tracker.process(packet, at: time)              // in capture order
        }
        let statistics = tracker.finish()                  // ends the rest, stops the threads
        print(statistics.connections)
    }

    /// From Sources/FlowTrack/IPFIX.swift.
    static func snippet21() async throws {
        var connections: [Connection] = []
        var tracker = FlowTracker()
        try tracker.run(file: "trace.pcap") { if case let .ended(c) = $0 { connections.append(c) } }
        tracker.finish { if case let .ended(c) = $0 { connections.append(c) } }
        for connection in connections.prefix(1) {
        var encoder = IPFIXEncoder(observationDomain: 1)
        var messages: [[UInt8]] = [encoder.templates(exportTime: 1_700_000_000)]
        if let full = encoder.add(connection, exportTime: 1_700_000_000) { messages.append(full) }
        if let last = encoder.flush(exportTime: 1_700_000_000) { messages.append(last) }
        precondition(messages.count == 2 && messages[1][1] == 10)  // template message, then one data message (version 10)
        }
    }

    /// From Sources/FlowTrack/IPFIX.swift.
    static func snippet22() async throws {
        let exporter = try IPFIXExporter(host: "127.0.0.1", port: 4739)
        var tracker = FlowTracker()
        try tracker.run(file: "trace.pcap") { event in
            if case let .ended(c) = event { exporter.export(c) }
        }
        tracker.finish { event in if case let .ended(c) = event { exporter.export(c) } }
        exporter.finish()
        print(exporter.recordsSent, exporter.sendFailures, exporter.recordsDropped)
    }

    /// From Sources/Pcap/DatagramSocket.swift.
    static func snippet23() async throws {
        let message: [UInt8] = [0, 10, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let socket = try DatagramSocket(host: "127.0.0.1", port: 4739)
        _ = socket.send(message)
    }


    /// From Sources/Pcap/StreamSocket.swift.
    static func snippetStreamSocket() async throws {
        let message: [UInt8] = []
        let socket = try StreamSocket(host: "127.0.0.1", port: 4739)
        if socket.connect() == .inProgress { _ = socket.waitConnected(timeoutMilliseconds: 1000) }
        if case let .sent(count) = socket.send(message, from: 0) { print(count) }
    }
}
