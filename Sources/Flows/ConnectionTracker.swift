/// Puts every packet into its bidirectional connection and follows it to its end,
/// with Zeek's conn.log semantics (ZEEK_SEMANTICS.md) and, alongside, the Linux
/// conntrack TCP state (CONNTRACK_SEMANTICS.md).
///
/// Time is packet time: before each packet, every timer due at or before its
/// timestamp fires (attempt, close delay, expire, inactivity), in due order, from
/// a hashed timing wheel — never a scan of the table; connections due at the same
/// instant end oldest first. ``flush(_:)`` ends what remains.
/// Steady state allocates nothing per packet; records are built only for the
/// events asked for in ``TrackerConfiguration/events``.
///
/// A non-`Sendable` value owned by one task; wrap it in an actor to share it.
public struct ConnectionTracker {
    /// The configuration in force.
    public let configuration: TrackerConfiguration
    /// What happened to the packets so far.
    public internal(set) var statistics = TrackerStatistics()

    var table: FlowTable<ConnectionState>
    var timers = TimerQueue()
    var now: Int64 = .min
    var nextSerial: UInt64 = 1
    /// The eviction sampler's generator state.
    var evictionState: UInt64 = 0x853C_49E6_748F_EA9B
    /// The uid seed in force (configured, or derived from the first packet's time).
    var uidSalt: UInt64 = 0
    /// History letters beyond the 12 kept inline, by connection serial (rare).
    var overflow: [UInt64: [UInt8]] = [:]
    /// The facts most connections never need (``RareState``).
    var rares = RareStore()
    let ns: Timeouts
    /// Whether the kernel-style TCP state is followed (configured, or needed by the conntrack profile).
    let kernelStates: Bool

    /// Timeouts in nanoseconds.
    struct Timeouts {
        var tcpInactivity, udpInactivity, icmpInactivity, unknownInactivity: Int64
        var attempt, closeDelay, synTimeout, sessionTimer, linger, longLived: Int64
        init(_ c: TrackerConfiguration) {
            func n(_ s: Double) -> Int64 { Int64((s * 1e9).rounded()) }
            tcpInactivity = n(c.tcpInactivityTimeout); udpInactivity = n(c.udpInactivityTimeout)
            icmpInactivity = n(c.icmpInactivityTimeout); unknownInactivity = n(c.unknownInactivityTimeout)
            attempt = n(c.tcpAttemptDelay); closeDelay = n(c.tcpCloseDelay); synTimeout = n(c.tcpSYNTimeout)
            sessionTimer = n(c.tcpSessionTimer); linger = n(c.tcpConnectionLinger); longLived = n(c.longLivedTimeout)
        }
    }

    /// Creates a tracker.
    public init(configuration: TrackerConfiguration = TrackerConfiguration()) {
        self.configuration = configuration
        ns = Timeouts(configuration)
        kernelStates = configuration.kernelStates || configuration.profile == .conntrack
        table = FlowTable(capacity: min(configuration.maxFlows, 1 << 10))
    }

    /// The number of connections currently tracked.
    public var activeConnections: Int { table.count }

    /// Bytes held by the flow table and timer queue.
    public var memoryFootprint: Int { table.memoryFootprint + timers.memoryFootprint + rares.memoryFootprint }

    // MARK: Packets

    /// Processes one decoded packet captured at `time`.
    ///
    /// The decoder should verify checksums exactly when ``TrackerConfiguration/verifyChecksums`` is set.
    /// - Parameter emit: receives the events asked for in the configuration, in packet order.
    public mutating func process(_ p: DecodedPacket, at time: Timestamp, _ emit: (ConnectionEvent) -> Void) {
        let t = time.nanoseconds
        advance(to: time, emit)
        statistics.packets += 1
        lastConnectionID = nil
        guard p.ipVersion != 0 else { statistics.nonIP += 1; return }
        guard p.malformed == nil else { statistics.malformed += 1; return }
        if configuration.verifyChecksums, p.ipChecksum == .bad { statistics.badIPChecksums += 1; return }
        if p.isNonFirstFragment { statistics.fragments += 1; return }

        let transport: TransportProtocol
        var sourcePort: UInt16 = 0, destinationPort: UInt16 = 0
        var canonical = true
        switch p.ipProtocol.rawValue {
        case 6:
            guard p.layers.contains(.tcp) else { statistics.truncatedTransport += 1; return }
            transport = .tcp
            sourcePort = p.sourcePort; destinationPort = p.destinationPort
        case 17:
            guard p.layers.contains(.udp) else { statistics.truncatedTransport += 1; return }
            transport = .udp
            sourcePort = p.sourcePort; destinationPort = p.destinationPort
        case 1 where p.ipVersion == 4, 58 where p.ipVersion == 6:
            let segment = p.ipTotalLength - p.ipHeaderLength
            guard !p.layers.isDisjoint(with: [.icmpv4, .icmpv6]), segment >= 8,
                  p.capturedLength - p.transportOffset >= 8
            else { statistics.truncatedTransport += 1; return }
            transport = .icmp
            sourcePort = UInt16(p.icmp.type)
            if let counterpart = Self.icmpCounterpart(p.icmp.type, v6: p.ipVersion == 6) {
                destinationPort = UInt16(counterpart)
            } else {
                destinationPort = UInt16(p.icmp.code)
                canonical = false
            }
        case 132 where p.layers.contains(.sctp):
            // Zeek has no SCTP analyzer and keys SCTP with ports 0; FlowTrack keys
            // associations by their ports (as conntrack does), so the Community ID
            // follows the spec.
            transport = .unknown
            sourcePort = p.sourcePort; destinationPort = p.destinationPort
        default:
            transport = .unknown
        }

        let source = Endpoint(p.source, sourcePort), destination = Endpoint(p.destination, destinationPort)
        let key = FlowKey(ipProtocol: p.ipProtocol.rawValue, source: source, destination: destination, canonical: canonical)
        let fromA = key.isFromA(source: p.source, port: sourcePort)
        var e: Int
        var created = false
        if let found = table.find(key) {
            e = found
            if transport == .tcp, p.tcp.flags.contains(.syn), isReuse(table[e], p, fromA: fromA) {
                end(e, reason: .reuse, emit)
                e = create(key, p, transport: transport, fromA: fromA, time: t, emit)
                created = true
            }
        } else {
            e = create(key, p, transport: transport, fromA: fromA, time: t, emit)
            created = true
        }
        statistics.tracked += 1
        // The packet works on a copy of the entry, written back once: one access to the
        // table instead of one per field.
        var c = table[e]
        lastConnectionID = c.serial

        let verify = configuration.verifyChecksums
        let wantStates = configuration.events.contains(.stateChanged)
        let before = wantStates ? Self.reportedState(c) : 0
        switch transport {
        case .tcp:
            var r = rares.load(c.rare)
            let actions = Self.processTCP(&c, &r, p, fromA: fromA, time: t, verify: verify)
            if kernelStates, p.cut != .tcp, !(verify && p.transportChecksum == .bad) { Self.conntrack(&c, p.tcp.flags, fromA: fromA) }
            schedule(&c, e, &r, actions, time: t)
            rares.store(r, &c.rare)
        case .udp:
            var r = rares.load(c.rare)
            Self.processUDP(&c, &r, p, fromA: fromA, time: t, verify: verify)
            schedule(&c, e, &r, [], time: t)
            rares.store(r, &c.rare)
        case .icmp:
            Self.processICMP(&c, p, fromA: fromA, time: t, verify: verify)
            if configuration.profile == .conntrack { scheduleConntrack(&c, e) }
        case .unknown:
            c.lastTime = t
            Self.count(&c, fromA: fromA, ipBytes: p.ipTotalLength)
            if configuration.profile == .conntrack { scheduleConntrack(&c, e) }
        }
        if c.history.spill != 0 { spill(&c) }
        table[e] = c
        if created {
            // Started once its first packet has been processed, so the record has a state.
            if configuration.events.contains(.started) { emit(.started(record(e, reason: nil))) }
        } else if wantStates {
            let after = Self.reportedState(c)
            if after != before {
                emit(.stateChanged(record(e, reason: nil)))
            }
        }
    }

    /// Moves history letters beyond the inline ones to the side table.
    mutating func spill(_ c: inout ConnectionState) {
        overflow[c.serial, default: []].append(contentsOf: c.history.takeSpill())
    }

    /// Fires every timer due at or before `time` (network time never goes backwards).
    /// Live captures call this on a clock tick so idle connections end while the wire is silent.
    public mutating func advance(to time: Timestamp, _ emit: (ConnectionEvent) -> Void) {
        if time.nanoseconds > now { now = time.nanoseconds }
        while let timer = timers.pop(dueBy: now) {
            let e = Int(timer.entry)
            guard UInt32(truncatingIfNeeded: table[e].serial) == timer.generation, table[e].serial != 0 else { continue }
            fire(timer, e, emit)
        }
    }

    /// Ends every remaining connection (reason `endOfInput`), oldest first.
    public mutating func flush(_ emit: (ConnectionEvent) -> Void) {
        let remaining = table.entries.map { (start: table[$0].startTime, serial: table[$0].serial, entry: $0) }
            .sorted { ($0.start, $0.serial) < ($1.start, $1.serial) }
        for r in remaining { end(r.entry, reason: .endOfInput, emit) }
    }

    /// The uid of the connection with tracker number `id` (``Connection/id``).
    public func uid(forID id: UInt64) -> String { uid(id) }

    /// The number of the connection the last processed packet was attributed to, or `nil`
    /// (a packet without IP, malformed, a later fragment…).
    public private(set) var lastConnectionID: UInt64?

    /// Records for every connection still tracked (for a live table view), oldest first.
    public func snapshot() -> [Connection] {
        table.entries.sorted { table[$0].serial < table[$1].serial }.map { record($0, reason: nil) }
    }

    // MARK: Creation, orientation, reuse

    mutating func create(_ key: FlowKey, _ p: DecodedPacket, transport: TransportProtocol, fromA: Bool, time: Int64,
                         _ emit: (ConnectionEvent) -> Void) -> Int {
        while table.count >= max(1, configuration.maxFlows) { evictOne(emit) }
        var c = ConnectionState()
        c.transport = transport
        c.startTime = time
        c.lastTime = time
        if nextSerial == 1 {
            uidSalt = configuration.uidSeed ?? UInt64(bitPattern: time) &* 0x9E37_79B9_7F4A_7C15
        }
        c.serial = nextSerial
        nextSerial += 1
        if !shouldFlipAtCreation(p, transport) == fromA { c.flags.insert(.origIsA) }
        // Zeek: TCP starts with the UDP inactivity timeout until the handshake is done.
        let timeout: Int64
        switch transport {
        case .tcp: timeout = ns.udpInactivity
        case .udp: timeout = ns.udpInactivity
        case .icmp: timeout = ns.icmpInactivity
        case .unknown: timeout = ns.unknownInactivity
        }
        let e = table.insert(key, c)
        statistics.connections += 1
        statistics.peakFlows = max(statistics.peakFlows, table.count)
        if configuration.profile == .zeek {
            table[e].inactivityDue = time + timeout
            if transport == .tcp { table[e].expireDue = time + ns.synTimeout }
        } else {
            table[e].inactivityDue = time + conntrackTimeout(table[e])
        }
        rearm(e, RareState())
        return e
    }

    /// ZEEK_SEMANTICS §2.1: flip at creation when the first packet looks like it came from a server.
    func shouldFlipAtCreation(_ p: DecodedPacket, _ transport: TransportProtocol) -> Bool {
        if p.destination == IPAddress(ipv4: 0xFFFF_FFFF) { return false }
        let ports = configuration.likelyServerPorts
        switch transport {
        case .tcp:
            let f = p.tcp.flags
            if f.contains(.syn) && !f.contains(.ack) { return false }
            let srcLikely = ports.tcp.contains(p.sourcePort), dstLikely = ports.tcp.contains(p.destinationPort)
            if srcLikely && !dstLikely { return true }
            return srcLikely && dstLikely && !f.contains(.syn) && p.sourcePort < p.destinationPort
        case .udp:
            return ports.udp.contains(p.sourcePort) && !ports.udp.contains(p.destinationPort)
        default:
            return false
        }
    }

    /// ZEEK_SEMANTICS §3.6 (`TCPSessionAdapter::IsReuse`).
    func isReuse(_ c: ConnectionState, _ p: DecodedPacket, fromA: Bool) -> Bool {
        let f = p.tcp.flags
        guard f.contains(.syn) else { return false }
        let orig = c.origIsA ? c.a : c.b, resp = c.origIsA ? c.b : c.a
        var compare = orig
        if f.contains(.ack) {
            guard orig.state == .inactive else { return false }
            compare = resp
        }
        let anyClosed = c.a.flags.contains(.didClose) || c.b.flags.contains(.didClose)
        if !anyClosed {
            let seq = UInt64(p.tcp.sequence)
            if seq == compare.start & 0xFFFF_FFFF { return false }
            // A SYN consistent with a SYN-ACK captured before it is not a reuse.
            if !f.contains(.ack), compare.state == .synAckSent, resp.state == .inactive,
               seq == resp.start & 0xFFFF_FFFF { return false }
        }
        return true
    }

    static func icmpCounterpart(_ type: UInt8, v6: Bool) -> UInt8? {
        if v6 {
            switch type {
            case 128: return 129
            case 129: return 128
            case 133: return 134
            case 134: return 133
            case 135: return 136
            case 136: return 135
            case 130: return 131
            case 131: return 130
            case 139: return 140
            case 140: return 139
            case 144: return 145
            case 145: return 144
            default: return nil
            }
        }
        switch type {
        case 8: return 0
        case 0: return 8
        case 13: return 14
        case 14: return 13
        case 15: return 16
        case 16: return 15
        case 10: return 9
        case 9: return 10
        case 17: return 18
        case 18: return 17
        default: return nil
        }
    }

    // MARK: Counting

    /// ConnSize: one packet and the IP total length to the sender's side.
    static func count(_ c: inout ConnectionState, fromA: Bool, ipBytes: Int) {
        if fromA {
            c.a.packets &+= 1
            c.a.ipBytes &+= UInt64(ipBytes)
        } else {
            c.b.packets &+= 1
            c.b.ipBytes &+= UInt64(ipBytes)
        }
    }

    /// Increments a logarithmic counter; the letter is due on the 1st, 10th, 100th… event.
    static func bump(_ counter: inout UInt32) -> Bool {
        if counter < .max { counter += 1 }
        return isPowerOfTen(UInt64(counter))
    }

    /// The same for a 16-bit counter, which saturates at 65535.
    static func bump(_ counter: inout UInt16) -> Bool {
        guard counter < .max else { return false }
        counter += 1
        return isPowerOfTen(UInt64(counter))
    }

    static func isPowerOfTen(_ v: UInt64) -> Bool {
        switch v {
        case 1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000: return true
        default: return false
        }
    }

    // MARK: UDP and ICMP (ZEEK_SEMANTICS §7)

    static func processUDP(_ c: inout ConnectionState, _ r: inout RareState, _ p: DecodedPacket, fromA: Bool, time: Int64,
                           verify: Bool) {
        let isOrig = fromA == c.origIsA
        if verify, p.transportChecksum == .bad {
            let letter = fromA ? Self.bump(&r.a.badChecksums) : Self.bump(&r.b.badChecksums)
            if letter { c.addHistory(UInt8(ascii: "C"), isOrig: isOrig) }
            return
        }
        c.lastTime = time
        _ = c.checkHistory(HistoryBit.data, UInt8(ascii: "D"), isOrig: isOrig)
        let data = UInt64(max(0, p.udpLength - 8))
        // A first fragment stands for the whole datagram: Zeek reassembles and counts it once.
        let ipBytes = p.layers.contains(.fragment) ? p.ipHeaderLength + p.udpLength : p.ipTotalLength
        if fromA {
            c.a.flags.insert(.active); c.a.payloadBytes &+= data
        } else {
            c.b.flags.insert(.active); c.b.payloadBytes &+= data
        }
        Self.count(&c, fromA: fromA, ipBytes: ipBytes)
    }

    static func processICMP(_ c: inout ConnectionState, _ p: DecodedPacket, fromA: Bool, time: Int64, verify: Bool) {
        if verify, p.transportChecksum == .bad { return }
        c.lastTime = time
        let data = UInt64(max(0, p.ipTotalLength - p.ipHeaderLength - 8))
        if fromA { c.a.payloadBytes &+= data } else { c.b.payloadBytes &+= data }
        if p.cut == nil { Self.count(&c, fromA: fromA, ipBytes: p.ipTotalLength) }
    }
}

extension ConnectionState {
    /// Records a once-only letter; returns `true` if it had been seen already.
    mutating func checkHistory(_ bit: UInt16, _ letter: UInt8, isOrig: Bool) -> Bool {
        let mask = isOrig ? bit : bit << 8
        if seen & mask != 0 { return true }
        seen |= mask
        addHistory(letter, isOrig: isOrig)
        return false
    }

    /// Appends a letter, lower-cased for the responder.
    mutating func addHistory(_ letter: UInt8, isOrig: Bool) {
        history.append(isOrig || letter == UInt8(ascii: "^") ? letter : letter | 0x20)
    }

    /// Flips originator and responder (`Connection::FlipRoles`): the sides travel
    /// with their endpoints; one `^` is appended.
    mutating func flip() {
        if flags.contains(.origIsA) { flags.remove(.origIsA) } else { flags.insert(.origIsA) }
        history.append(UInt8(ascii: "^"))
    }
}
