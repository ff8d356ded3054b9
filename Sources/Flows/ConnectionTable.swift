/// Puts every packet into its bidirectional connection and follows it to its end,
/// with Zeek's conn.log semantics (Docs/ZeekSemantics.md) and, alongside, the Linux
/// conntrack TCP state (Docs/Conntrack.md).
///
/// Time is packet time: before each packet, every timer due at or before its
/// timestamp fires (attempt, close delay, expire, inactivity), in due order, from
/// a hashed timing wheel — never a scan of the table; connections due at the same
/// instant end oldest first. ``flush(_:)`` ends what remains.
/// Steady state allocates nothing per packet; records are built only for the
/// events asked for in ``TrackerConfiguration/events``.
///
/// A non-`Sendable` value owned by one task; wrap it in an actor to share it.
public struct ConnectionTable {
    /// The configuration in force.
    public let configuration: TrackerConfiguration
    /// What happened to the packets so far.
    public internal(set) var statistics = TrackerStatistics()

    var table: FlowTable<ConnectionState>
    var timers = TimerQueue()
    var now: Int64 = .min
    var nextSerial: UInt64 = 1
    /// The position of the packet being processed, when the pipeline numbers packets
    /// (``begin(ordinal:)``); 0 otherwise. Serials then come from packet positions, so a
    /// connection's number and uid do not depend on which table (shard) tracks it.
    var ordinal: UInt64 = 0
    /// Serials (and tunnel numbers) handed out for the current ``ordinal``.
    var createdInPacket: UInt64 = 0
    /// Whether ``uidSalt`` is set (at the first packet).
    var salted = false
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
    /// Whether SCTP is keyed by its ports (configured, or by profile).
    let sctpPorts: Bool
    /// Whether the DNS and NTP rules run (configured, and the Zeek profile).
    let analyzerRules: Bool
    /// Whether ``linkFacts`` is kept.
    let keepsLinkFacts: Bool
    /// VLAN facts and link-layer addresses of the creating packet, by entry (only when
    /// VLANs or MAC addresses are recorded; empty otherwise).
    var linkFacts = EntryStore(LinkFacts())
    /// VLAN-aware keys: the context number of each VLAN pair seen, and the last lookup.
    var vlanContexts: [UInt32: UInt16] = [:]
    /// Inner connections' tunnels, by connection number (only tunnelled connections).
    var tunnelMembers: [UInt64: TunnelMembership] = [:]
    /// UDP connections that carry tunnels, by connection number.
    var tunnelCarriers: [UInt64: TunnelCarrier] = [:]
    /// IP-level tunnels by their outer address pair.
    var ipTunnels: [FlowKey: IPTunnel] = [:]
    /// tunnel.log's active tunnels, by uid number, its pending lines and last expiry sweep.
    var activeTunnels: [UInt64: ActiveTunnel] = [:]
    var tunnelRecords: [TunnelRecord] = []
    var lastTunnelSweep: Int64 = .min
    var nextTunnelSerial: UInt64 = 0
    /// The table entry of the last packet's connection.
    var lastEntry: Int?
    /// The kernel's window-tracking data of each TCP connection, by entry (only while
    /// kernel states are followed; empty otherwise).
    var windows = EntryStore(KernelWindow())
    var lastVLANPair: (pair: UInt32, context: UInt16) = (0, 0)

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
        sctpPorts = configuration.sctpPorts ?? (configuration.profile == .conntrack)
        analyzerRules = configuration.analyzerFlips && configuration.profile == .zeek
        keepsLinkFacts = configuration.recordVLANs || configuration.vlanInKey || configuration.recordL2Addresses
        table = FlowTable(capacity: min(configuration.maxFlows, 1 << 10))
    }

    /// The number of connections currently tracked.
    public var activeConnections: Int { table.count }

    /// Bytes held by the flow table and timer queue.
    public var memoryFootprint: Int {
        table.memoryFootprint + timers.memoryFootprint + rares.memoryFootprint
            + windows.memoryFootprint + linkFacts.memoryFootprint
    }

    // MARK: Packets

    /// Processes one decoded packet captured at `time`.
    ///
    /// The decoder should verify checksums exactly when ``TrackerConfiguration/verifyChecksums`` is set.
    /// - Parameters:
    ///   - p: the packet, decoded (innermost headers for a tunnelled one).
    ///   - time: when it was captured; network time never goes backwards (timers fire up to it).
    ///   - emit: receives the events asked for in the configuration, in packet order.
    public mutating func process(_ p: DecodedPacket, at time: Timestamp, _ emit: (ConnectionEvent) -> Void) {
        lastCarrierConnectionID = nil
        track(p, at: time, frame: true, emit)
        if !tunnelMembers.isEmpty { noteUntunnelled() }
        if !p.anomalies.isDisjoint(with: Self.carrierAnomalies) { noteCarrierAnomalies(p) }
    }

    /// One packet; `frame` is false for the carrying UDP packet of a tunnel (not counted as a frame).
    /// Inlined so that ``process(_:at:_:)``, the path of nearly every packet, is one function.
    @inline(__always)
    mutating func track(_ p: DecodedPacket, at time: Timestamp, frame: Bool, _ emit: (ConnectionEvent) -> Void) {
        let t = time.nanoseconds
        if frame, t < now, now != .min {
            statistics.timeWentBackwards += 1
            statistics.largestBackwardStep = max(statistics.largestBackwardStep, now - t)
        }
        advance(to: time, emit)
        if frame { statistics.packets += 1 }
        lastConnectionID = nil
        lastEntry = nil
        guard p.ipVersion != 0 else { statistics.nonIP += 1; return }
        guard p.malformed == nil else { statistics.malformed += 1; return }
        // `ignore_checksums_nets` exempts packets by their IP source address.
        var verify = configuration.verifyChecksums
        if verify, let exempt = configuration.ignoreChecksumNetworks, exempt.contains(p.source) { verify = false }
        if verify, p.ipChecksum == .bad { statistics.badIPChecksums += 1; return }
        if p.isNonFirstFragment { statistics.fragments += 1; return }

        let transport: TransportProtocol
        var sourcePort: UInt16 = 0, destinationPort: UInt16 = 0
        var canonical = true
        let ipProtocol = p.ipProtocol.rawValue
        if ipProtocol == 6 {
            guard p.layers.contains(.tcp) else { statistics.truncatedTransport += 1; return }
            transport = .tcp
            sourcePort = p.sourcePort; destinationPort = p.destinationPort
        } else if ipProtocol == 17 {
            guard p.layers.contains(.udp) else { statistics.truncatedTransport += 1; return }
            transport = .udp
            sourcePort = p.sourcePort; destinationPort = p.destinationPort
        } else {
            switch ipProtocol {
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
            case 132 where sctpPorts && p.layers.contains(.sctp):
                // Zeek has no SCTP analyzer and keys SCTP with ports 0 (the default case);
                // keyed by its ports, as conntrack does, the Community ID follows the spec.
                transport = .unknown
                sourcePort = p.sourcePort; destinationPort = p.destinationPort
            case 50 where p.ipVersion == 6, 59 where p.ipVersion == 6, 135 where p.ipVersion == 6:
                // Zeek's IPv6 analysis ends at ESP, "no next header" (a Teredo bubble, say) and the
                // mobility header without a connection (Docs/Encapsulation.md §4e).
                statistics.withoutConnection += 1
                return
            default:
                transport = .unknown
            }
        }

        let source = Endpoint(p.source, sourcePort), destination = Endpoint(p.destination, destinationPort)
        let context = configuration.vlanInKey && p.vlanCount > 0 ? vlanContext(p) : 0
        let key = FlowKey(ipProtocol: p.ipProtocol.rawValue, source: source, destination: destination, canonical: canonical,
                          context: context)
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
        lastEntry = e

        if verify, transport != .unknown {
            switch p.transportChecksum {
            case .good: statistics.verifiedTransportChecksums += 1
            case .bad: statistics.verifiedTransportChecksums += 1; statistics.badTransportChecksums += 1
            default: break
            }
        }
        var kernel = KernelVerdict.invalid
        let wantStates = configuration.events.contains(.stateChanged)
        let before = wantStates ? Self.reportedState(c) : 0
        // Compared in turn rather than switched on: a jump table's indirect branch mispredicts
        // on mixed traffic (measured: one in seven packets), TCP and UDP are most packets.
        if transport == .tcp {
            var r = rares.load(c.rare)
            let actions = Self.processTCP(&c, &r, p, fromA: fromA, time: t, verify: verify)
            if kernelStates, p.cut != .tcp, !(verify && p.transportChecksum == .bad) {
                kernel = Self.kernelTrack(&c, &windows[e], p, fromA: fromA)
            }
            if configuration.profile == .conntrack {
                if kernel == .refreshed { c.inactivityDue = t + Int64(windows[e].timeout) * 1_000_000_000 }
                rearm(&c, e, r)
            } else {
                schedule(&c, e, &r, actions, time: t)
            }
            rares.store(r, &c.rare)
        } else if transport == .udp {
            var r = rares.load(c.rare)
            Self.processUDP(&c, &r, p, fromA: fromA, time: t, verify: verify, analyzers: analyzerRules ? key : nil)
            schedule(&c, e, &r, [], time: t)
            rares.store(r, &c.rare)
        } else if transport == .icmp {
            Self.processICMP(&c, p, fromA: fromA, time: t, verify: verify)
            if configuration.profile == .conntrack { scheduleConntrack(&c, e) }
        } else {
            c.lastTime = t
            Self.count(&c, fromA: fromA, ipBytes: p.ipTotalLength)
            if configuration.profile == .conntrack { scheduleConntrack(&c, e) }
        }
        if c.history.spill != 0 { spill(&c) }
        lastFromOriginator = fromA == c.origIsA
        table[e] = c
        if kernel == .killed, configuration.profile == .conntrack {
            // conntrack deletes an entry whose only answer was a RST.
            return end(e, reason: .rst, emit)
        }
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
        advance(to: time) { _, event in emit(event) }
    }

    /// ``advance(to:_:)``, giving each event with the due time of the timer that caused it
    /// (timers fire in (due time, serial) order, which is how the shards' events merge).
    @inline(__always)
    package mutating func advance(to time: Timestamp, timed emit: (_ due: Int64, ConnectionEvent) -> Void) {
        if time.nanoseconds > now { now = time.nanoseconds }
        if !salted {
            salted = true
            uidSalt = configuration.uidSeed ?? UInt64(bitPattern: time.nanoseconds) &* 0x9E37_79B9_7F4A_7C15
        }
        if !activeTunnels.isEmpty { expireTunnels() }
        while let timer = timers.pop(dueBy: now) {
            let e = Int(timer.entry)
            guard UInt32(truncatingIfNeeded: table[e].serial) == timer.generation, table[e].serial != 0 else { continue }
            fire(timer, e) { emit(timer.due, $0) }
        }
    }

    /// Numbers the next packet: its position in the capture (from 1; each frame, A-MSDU
    /// subframe and clock tick takes one). The connections it creates get serials
    /// `ordinal << 3 | n` (the n-th created by that packet), so that tables sharing a
    /// capture by 5-tuple (``FlowTracker`` with several threads) number connections, and
    /// so name them (uids), exactly as one table would.
    @inline(__always)
    package mutating func begin(ordinal: UInt64) {
        self.ordinal = ordinal
        createdInPacket = 0
    }

    /// The serial of a connection (or IP tunnel) created now: from the packet's position
    /// when packets are numbered, else the next in sequence.
    mutating func newSerial() -> UInt64 {
        if ordinal != 0 {
            defer { createdInPacket += 1 }
            return ordinal << 3 | min(createdInPacket, 7)
        }
        defer { nextSerial += 1 }
        return nextSerial
    }

    /// Ends every remaining connection (reason `endOfInput`), oldest first.
    public mutating func flush(_ emit: (ConnectionEvent) -> Void) {
        for r in remainingInAgeOrder() { end(r.entry, reason: .endOfInput, emit) }
    }

    /// The connections still tracked, oldest first (start time, then number): the order
    /// ``flush(_:)`` ends them in, for merging several tables' flushes.
    package func remainingInAgeOrder() -> [(start: Int64, serial: UInt64, entry: Int)] {
        table.entries.map { (start: table[$0].startTime, serial: table[$0].serial, entry: $0) }
            .sorted { ($0.start, $0.serial) < ($1.start, $1.serial) }
    }

    /// Ends the connection at `entry` (from ``remainingInAgeOrder()``) at the end of input.
    package mutating func endAtEndOfInput(entry: Int, _ emit: (ConnectionEvent) -> Void) {
        end(entry, reason: .endOfInput, emit)
    }

    /// The uid of the connection with tracker number `id` (``Connection/id``).
    public func uid(forID id: UInt64) -> String { uid(id) }

    /// The number of the connection the last processed packet was attributed to, or `nil`
    /// (a packet without IP, malformed, a later fragment…).
    public private(set) var lastConnectionID: UInt64?

    /// Whether the last processed packet came from its connection's originator (after any
    /// flip the packet caused); meaningful when ``lastConnectionID`` is set.
    public private(set) var lastFromOriginator = false

    /// The salt of this run's uids (set at the first packet).
    package var uidSaltValue: UInt64 { uidSalt }

    /// For a tunnelled packet, the number of the innermost UDP connection that carried it
    /// (``lastConnectionID`` is the inner connection's), else `nil`.
    public internal(set) var lastCarrierConnectionID: UInt64?

    /// Records for the connections still tracked (for a live table view), oldest first.
    /// - Parameter startedBy: only the connections whose first packet came at or before this
    ///   time (the ones old enough for a meter's active timeout); `nil` for all.
    public func snapshot(startedBy: Timestamp? = nil) -> [Connection] {
        let cutoff = startedBy?.nanoseconds ?? .max
        return table.entries.filter { table[$0].startTime <= cutoff }
            .sorted { table[$0].serial < table[$1].serial }.map { record($0, reason: nil) }
    }

    // MARK: Creation, orientation, reuse

    mutating func create(_ key: FlowKey, _ p: DecodedPacket, transport: TransportProtocol, fromA: Bool, time: Int64,
                         _ emit: (ConnectionEvent) -> Void) -> Int {
        while table.count >= max(1, configuration.maxFlows) { evictOne(emit) }
        var c = ConnectionState()
        c.transport = transport
        c.startTime = time
        c.lastTime = time
        c.serial = newSerial()
        // A flip at creation goes through `Connection::FlipRoles` like any other: the
        // history starts with `^` (Docs/Encapsulation.md §4b).
        let flip = shouldFlipAtCreation(p, transport)
        if flip != fromA { c.flags.insert(.origIsA) }
        if flip { c.history.append(UInt8(ascii: "^")) }
        // Zeek: TCP starts with the UDP inactivity timeout until the handshake is done.
        let timeout: Int64
        switch transport {
        case .tcp: timeout = ns.udpInactivity
        case .udp: timeout = ns.udpInactivity
        case .icmp: timeout = ns.icmpInactivity
        case .unknown: timeout = ns.unknownInactivity
        }
        if analyzerRules, transport == .udp {
            // Zeek attaches its DNS analyzer by the responder port; its expire timer
            // checks 10 s after creation and every 10 s after that.
            let respPort = c.origIsA ? key.b.port : key.a.port
            if Self.dnsPorts.contains(respPort) {
                c.flags.insert(.dnsAnalyzer)
                c.expireDue = time + Self.dnsSessionTimeout
            }
        }
        let e = table.insert(key, c)
        if kernelStates, transport == .tcp {
            windows.reset(e)
        }
        if keepsLinkFacts {
            linkFacts.reset(e)
            linkFacts[e] = LinkFacts(p, fromA: fromA)
        }
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

    /// The key context of a tagged packet's VLAN pair (``FlowKey/context``): numbers from
    /// 1 in the order pairs are first seen; beyond 65 535 pairs the rest share the last.
    mutating func vlanContext(_ p: DecodedPacket) -> UInt16 {
        let outer = UInt32(p.outerVLAN & 0xFFF) | 0x1000
        let inner = p.vlanCount > 1 ? UInt32(p.innerVLAN & 0xFFF) | 0x1000 : 0
        let pair = outer << 13 | inner
        if pair == lastVLANPair.pair { return lastVLANPair.context }
        let context: UInt16
        if let known = vlanContexts[pair] {
            context = known
        } else if vlanContexts.count < Int(UInt16.max) {
            context = UInt16(vlanContexts.count + 1)
            vlanContexts[pair] = context
        } else {
            statistics.vlanContextOverflows += 1
            return UInt16.max
        }
        lastVLANPair = (pair, context)
        return context
    }

    /// Docs/ZeekSemantics.md §2.1: flip at creation when the first packet looks like it came from a server.
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

    /// Docs/ZeekSemantics.md §3.6 (`TCPSessionAdapter::IsReuse`).
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

    // MARK: UDP and ICMP (Docs/ZeekSemantics.md §7)

    /// One UDP packet (Docs/ZeekSemantics.md §7.1). With `analyzers` (the connection's key), the
    /// DNS and NTP rules that turn a connection around run too (Docs/Encapsulation.md §4f).
    static func processUDP(_ c: inout ConnectionState, _ r: inout RareState, _ p: DecodedPacket, fromA: Bool, time: Int64,
                           verify: Bool, analyzers key: FlowKey? = nil) {
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
        if let key, Self.analyzerFlips(&c, p, key: key, isOrig: isOrig) {
            // Zeek's UDP adapter keeps its per-direction counters and states in
            // originator/responder slots that a flip does not swap: the values recorded
            // so far stay with the originator slot, which now names the other endpoint.
            let (aBytes, aActive) = (c.a.payloadBytes, c.a.flags.contains(.active))
            c.a.payloadBytes = c.b.payloadBytes
            if c.b.flags.contains(.active) { c.a.flags.insert(.active) } else { c.a.flags.remove(.active) }
            c.b.payloadBytes = aBytes
            if aActive { c.b.flags.insert(.active) } else { c.b.flags.remove(.active) }
            // ConnSize swapped its counters and then counts this packet with the
            // direction it arrived in: it goes to the new owner of that slot.
            Self.count(&c, fromA: !fromA, ipBytes: ipBytes)
            return
        }
        Self.count(&c, fromA: fromA, ipBytes: ipBytes)
    }

    /// UDP ports Zeek's DNS analyzer is attached to.
    static let dnsPorts: Set<UInt16> = [53, 137, 5353, 5355]
    /// `dns_session_timeout`.
    static let dnsSessionTimeout: Int64 = 10_000_000_000

    /// Zeek's DNS and NTP analyzers (attached by the responder port) turning a UDP
    /// connection around; returns whether this packet did. Reads the first payload bytes only.
    static func analyzerFlips(_ c: inout ConnectionState, _ p: DecodedPacket, key: FlowKey, isOrig: Bool) -> Bool {
        let (origin, responder) = c.origIsA ? (key.a, key.b) : (key.b, key.a)
        let head = p.payloadHead
        if c.flags.contains(.dnsAnalyzer) {
            // `DNS_Interpreter::ParseMessage`: a message shorter than the header, or one
            // whose opcode is not QUERY/NOTIFY/UPDATE (NetBIOS aside), is skipped; the
            // first accepted one, if it is a response sent by the originator, turns the
            // connection around unless the responder address is multicast.
            // A protocol violation (an unknown opcode, more than `dns_max_queries` = 25
            // questions) records `X` once.
            guard p.capturedPayloadLength >= 12, p.udpLength - 8 >= 12 else { return false }
            let flags = UInt16(truncatingIfNeeded: head >> 32)
            let opcode = flags >> 11 & 0xF
            if opcode != 0, opcode != 4, opcode != 5, origin.port != 137, responder.port != 137 {
                _ = c.checkHistory(HistoryBit.violation, UInt8(ascii: "X"), isOrig: true)
                return false
            }
            var flipped = false
            if !c.flags.contains(.dnsFirstSeen) {
                c.flags.insert(.dnsFirstSeen)
                let multicast = responder.address.isIPv4
                    ? UInt32(truncatingIfNeeded: responder.address.low) >> 24 == 224 : responder.address.high >> 56 == 0xFF
                if flags & 0x8000 != 0, isOrig, !multicast {
                    c.flip()
                    flipped = true
                }
            }
            if UInt16(truncatingIfNeeded: head >> 16) > 25 { _ = c.checkHistory(HistoryBit.violation, UInt8(ascii: "X"), isOrig: true) }
            return flipped
        }
        // NTP (port 123): a server-mode message (4) from the originator or a client-mode
        // one (3) from the responder turns the connection around, once per direction.
        guard responder.port == 123, p.capturedPayloadLength >= 1 else { return false }
        let mode = UInt8(truncatingIfNeeded: head >> 56) & 7
        let guardFlag: ConnectionFlags = isOrig ? .ntpFlippedByOriginator : .ntpFlippedByResponder
        guard (mode == 4 && isOrig) || (mode == 3 && !isOrig), !c.flags.contains(guardFlag) else { return false }
        c.flags.insert(guardFlag)
        c.flip()
        return true
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
