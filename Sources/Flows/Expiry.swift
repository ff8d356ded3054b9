extension ConnectionTable {
    // MARK: Timers (Docs/ZeekSemantics.md §3.7, §8)

    /// Arms the timers a packet asked for (`c` is entry `e`'s state, being updated).
    mutating func schedule(_ c: inout ConnectionState, _ e: Int, _ r: inout RareState, _ actions: Actions, time: Int64) {
        if configuration.profile == .conntrack { return scheduleConntrack(&c, e) }
        guard !actions.isEmpty else { return }
        if actions.contains(.attempt) {
            if time == c.startTime {
                c.flags.insert(.attemptAtStart)
                r.attemptDue = 0
            } else {
                c.flags.remove(.attemptAtStart)
                r.attemptDue = time + ns.attempt
            }
        }
        if actions.contains(.handshakeDone) { c.flags.insert(.handshakeDone) }
        if actions.contains(.closeComplete), !c.flags.contains(.closeComplete) {
            // `CancelTimers` then the delete timer.
            c.flags.insert(.closeComplete)
            c.flags.remove(.attemptAtStart)
            r.attemptDue = 0
            c.expireDue = 0
            c.laterDue = c.lastTime + ns.closeDelay
        } else if actions.contains(.expireLater), !c.flags.contains(.closeComplete) {
            c.laterDue = c.lastTime + ns.sessionTimer
        }
        rearm(&c, e, r)
    }

    /// conntrack profile: one timeout per kernel state, refreshed by every packet.
    mutating func scheduleConntrack(_ c: inout ConnectionState, _ e: Int) {
        c.inactivityDue = c.lastTime + conntrackTimeout(c)
        rearm(&c, e, RareState())
    }

    /// The attempt timer's due time, or 0.
    func attemptDue(_ c: ConnectionState, _ r: RareState) -> Int64 {
        c.flags.contains(.attemptAtStart) ? c.startTime + ns.attempt : r.attemptDue
    }

    /// The earliest pending timer's due time, or 0.
    func nextDue(_ c: ConnectionState, _ r: RareState) -> Int64 {
        var d = c.inactivityDue
        let attempt = attemptDue(c, r)
        if attempt != 0, d == 0 || attempt < d { d = attempt }
        if c.expireDue != 0, d == 0 || c.expireDue < d { d = c.expireDue }
        if c.laterDue != 0, d == 0 || c.laterDue < d { d = c.laterDue }
        return d
    }

    /// Makes sure the wheel holds an entry at the connection's earliest due time.
    /// A later entry left behind is stale and ignored when it comes up.
    mutating func rearm(_ c: inout ConnectionState, _ e: Int, _ r: RareState) {
        let due = nextDue(c, r)
        guard due != 0 else { return }
        if c.wakeDue == 0 || due < c.wakeDue {
            c.wakeDue = due
            timers.push(due: due, entry: e, generation: UInt32(truncatingIfNeeded: c.serial))
        }
    }

    /// ``rearm(_:_:_:)`` for an entry in the table.
    mutating func rearm(_ e: Int, _ r: RareState) {
        var c = table[e]
        rearm(&c, e, r)
        table[e].wakeDue = c.wakeDue
    }

    /// The inactivity timeout in force for a connection (Zeek profile).
    func inactivityTimeout(_ c: ConnectionState, key: FlowKey) -> Int64 {
        switch c.transport {
        case .tcp:
            guard c.flags.contains(.handshakeDone) else { return ns.udpInactivity }
            if c.flags.contains(.established), !configuration.longLivedPorts.isEmpty {
                // inactivity.zeek: 1 h for interactive services, by responder port.
                let respPort = c.origIsA ? key.b.port : key.a.port
                if configuration.longLivedPorts.contains(respPort) { return ns.longLived }
            }
            return ns.tcpInactivity
        case .udp: return ns.udpInactivity
        case .icmp: return ns.icmpInactivity
        case .unknown: return ns.unknownInactivity
        }
    }

    /// Runs every timer of connection `e` due by now, in due order, then re-arms.
    mutating func fire(_ timer: TimerQueue.Timer, _ e: Int, _ emit: (ConnectionEvent) -> Void) {
        guard table[e].wakeDue == timer.due else { return }  // superseded by an earlier entry
        table[e].wakeDue = 0
        var rare = rares.load(table[e].rare)
        while true {
            let c = table[e]
            // The earliest due timer; ties in the order Zeek schedules them.
            var kind: TimerKind?
            var due = Int64.max
            func consider(_ k: TimerKind, _ d: Int64) {
                if d != 0, d <= now, d < due { kind = k; due = d }
            }
            consider(.delete, c.deleteDue)
            consider(.attempt, attemptDue(c, rare))
            consider(.expire, c.expireDue)
            consider(.expire, c.expire2Due)
            consider(.inactivity, c.inactivityDue)
            guard let kind else { break }
            switch kind {
            case .inactivity where configuration.profile == .conntrack && c.transport == .tcp:
                // The kernel's timeout, as the last accepted packet set it.
                return end(e, reason: .timeout, emit)
            case .inactivity:
                let timeout = configuration.profile == .zeek ? inactivityTimeout(c, key: table.key(at: e)) : conntrackTimeout(c)
                if c.lastTime + timeout <= now { return end(e, reason: .timeout, emit) }
                table[e].inactivityDue = c.lastTime + timeout
            case .attempt:
                table[e].flags.remove(.attemptAtStart)
                rare.attemptDue = 0
                rares.store(rare, &table[e].rare)
                let orig = c.origIsA ? c.a : c.b, resp = c.origIsA ? c.b : c.a
                if orig.state == .synSent || orig.state == .synAckSent, resp.state == .inactive {
                    return end(e, reason: .timeout, emit)
                }
            case .expire where c.transport == .udp:
                // `DNS_Analyzer::ExpireTimer`: ends the connection after 9 s of quiet, else checks again in 10 s.
                if now - c.lastTime >= Self.dnsSessionTimeout - 1_000_000_000 { return end(e, reason: .timeout, emit) }
                table[e].expireDue = now + Self.dnsSessionTimeout
            case .expire:
                let o = c.origIsA ? c.a : c.b, r = c.origIsA ? c.b : c.a
                if c.lastTime + ns.linger < now {
                    if o.flags.contains(.didClose) || r.flags.contains(.didClose) {
                        if (o.flags.contains(.didClose) && r.flags.contains(.didClose)) || o.state == .reset || r.state == .reset
                            || o.state == .inactive || r.state == .inactive {
                            return end(e, reason: o.state == .reset || r.state == .reset ? .rst : .fin, emit)
                        }
                    }
                    if r.state == .inactive, o.state == .inactive {
                        return end(e, reason: .timeout, emit)  // nothing ever happened (bad checksums only)
                    }
                }
                // Re-armed `tcp_session_timer` after now.
                if c.expireDue == due { table[e].expireDue = now + ns.sessionTimer } else { table[e].laterDue = now + ns.sessionTimer }
            case .delete:
                return end(e, reason: c.a.state == .reset || c.b.state == .reset ? .rst : .fin, emit)
            }
        }
        rearm(e, rare)
    }

    /// Ends connection `e`: reports it and frees its entry.
    mutating func end(_ e: Int, reason: EndReason, _ emit: (ConnectionEvent) -> Void) {
        statistics.ended[reason, default: 0] += 1
        if configuration.events.contains(.ended) { emit(.ended(record(e, reason: reason))) }
        if table[e].history.hasOverflow { overflow[table[e].serial] = nil }
        if !tunnelMembers.isEmpty { tunnelMembers[table[e].serial] = nil }
        if !tunnelCarriers.isEmpty { tunnelCarriers[table[e].serial] = nil }
        if !activeTunnels.isEmpty { closeTunnel(table[e].serial) }
        rares.release(table[e].rare)
        table[e].rare = 0
        table[e].serial = 0
        table.remove(at: e)
    }

    /// Ends an idle connection to make room: of eight connections sampled at random,
    /// the one whose last packet is oldest (sampled LRU, as Redis evicts; O(1) per
    /// eviction however full the table is).
    mutating func evictOne(_ emit: (ConnectionEvent) -> Void) {
        var best: Int?
        if table.count <= 8 {
            // A small table: exact, the least recently active of all.
            for e in table.entries where best.map({ table[e].lastTime < table[$0].lastTime }) ?? true { best = e }
            if let best { end(best, reason: .eviction, emit) }
            return
        }
        for _ in 0..<8 {
            evictionState = evictionState &* 6364136223846793005 &+ 1442695040888963407
            guard let e = table.entry(near: Int(truncatingIfNeeded: evictionState >> 17)) else { break }
            if best.map({ table[e].lastTime < table[$0].lastTime }) ?? true { best = e }
        }
        if let best { end(best, reason: .eviction, emit) }
    }

    // MARK: Records

    /// Zeek's endpoint size (§6.2): sequence space, less the SYN and FIN octets.
    static func size(_ s: Side, peer: Side) -> UInt64 {
        guard s.flags.contains(.seqInitialized) else { return 0 }
        if s.state == .reset, s.prevState == .synSent, peer.state == .inactive, s.ack != s.start { return 0 }
        var size = max(s.last, s.ack) &- s.start
        if size > 1 << 62 { return 0 }  // sequence numbers went backwards: nothing trustworthy
        if size != 0 { size -= 1 }
        if s.flags.contains(.finSeen), size != 0 { size -= 1 }
        return size
    }

    /// `conn_state()` from scripts/base/protocols/conn/main.zeek (§4).
    static func connState(_ c: ConnectionState, extraHistory: [UInt8] = []) -> ConnState {
        let o = c.origIsA ? c.a : c.b, r = c.origIsA ? c.b : c.a
        switch c.transport {
        case .tcp:
            let os = o.state, rs = r.state
            let oInactive = os == .inactive || os == .partial, rInactive = rs == .inactive || rs == .partial
            if rs == .reset {
                if os == .synSent || os == .synAckSent || (os == .reset && size(o, peer: r) == 0 && size(r, peer: o) == 0) { return .rej }
                return oInactive ? .rstrh : .rstr
            }
            if os == .reset {
                if rInactive { return historyIsRSTOS0(c.history.letters + extraHistory) ? .rstos0 : .oth }
                return .rsto
            }
            if os == .closed && rs == .closed { return .sf }
            if os == .closed { return rInactive ? .sh : .s2 }
            if rs == .closed { return oInactive ? .shr : .s3 }
            if os == .synSent && rs == .inactive { return .s0 }
            if os == .established && rs == .established { return .s1 }
            return .oth
        case .udp:
            let oActive = o.flags.contains(.active), rActive = r.flags.contains(.active)
            if oActive { return rActive ? .sf : .s0 }
            return rActive ? .shr : .oth
        case .icmp, .unknown:
            return .oth
        }
    }

    /// Whether the whole history matches `^?S[^HAFGIQ]*R.*`.
    static func historyIsRSTOS0(_ h: [UInt8]) -> Bool {
        var i = 0
        if i < h.count, h[i] == UInt8(ascii: "^") { i += 1 }
        guard i < h.count, h[i] == UInt8(ascii: "S") else { return false }
        i += 1
        while i < h.count {
            switch h[i] {
            case UInt8(ascii: "R"): return true
            case UInt8(ascii: "H"), UInt8(ascii: "A"), UInt8(ascii: "F"), UInt8(ascii: "G"), UInt8(ascii: "I"), UInt8(ascii: "Q"):
                return false
            default: i += 1
            }
        }
        return false
    }

    /// The pair (conn_state, kernel state) packed, to notice changes.
    static func reportedState(_ c: ConnectionState) -> UInt8 {
        Self.connState(c).rawValue << 4 | c.tcpState.rawValue
    }

    /// The Zeek-style uid of a connection serial.
    func uid(_ serial: UInt64) -> String { Self.uid(serial, salt: uidSalt) }

    /// The Zeek-style uid of a connection serial under a run's salt: `C` + base62 of two mixed words.
    package static func uid(_ serial: UInt64, salt uidSalt: UInt64) -> String {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Base-62 digits: 0-9, a-z, A-Z, without branches (the digits are random, so
        /// a branch per range would be mispredicted about once a digit).
        func digit(_ d: UInt64) -> UInt8 {
            @inline(__always) func step(_ atLeast: UInt64) -> UInt64 { d >= atLeast ? 1 : 0 }
            return UInt8(truncatingIfNeeded: 48 &+ d &+ 39 &* step(10) &- 58 &* step(36))
        }
        var out = InlineArray<17, UInt8>(repeating: UInt8(ascii: "C"))
        var w = mix(serial ^ uidSalt)
        for i in 1...8 { out[i] = digit(w % 62); w /= 62 }
        w = mix(serial &+ uidSalt &* 31)
        for i in 9...16 { out[i] = digit(w % 62); w /= 62 }
        return String(ascii: out.span)
    }

    /// The record for connection `e` as it stands.
    func record(_ e: Int, reason: EndReason?) -> Connection {
        let key = table.key(at: e)
        let c = table[e]
        let rare = rares.load(c.rare)
        let (o, r) = c.origIsA ? (c.a, c.b) : (c.b, c.a)
        let (oRare, rRare) = c.origIsA ? (rare.a, rare.b) : (rare.b, rare.a)
        let (origin, responder) = c.origIsA ? (key.a, key.b) : (key.b, key.a)
        func counters(_ s: Side, _ sRare: RareSide, _ peer: Side) -> DirectionCounters {
            let bytes: UInt64
            switch c.transport {
            case .tcp: bytes = Self.size(s, peer: peer)
            case .udp, .icmp: bytes = s.payloadBytes
            case .unknown: bytes = 0
            }
            return DirectionCounters(packets: s.packets, ipBytes: s.ipBytes, payloadBytes: s.payloadBytes, bytes: bytes,
                                     retransmissions: UInt64(sRare.retransmissions), zeroWindows: UInt64(sRare.zeroWindows))
        }
        let local = configuration.localNetworks
        let cid = configuration.computeCommunityID
            ? CommunityID.v1(ipProtocol: key.ipProtocol, source: origin, destination: responder,
                             oneWay: key.isOneWay, seed: configuration.communityIDSeed)
            : ""
        let isTCP = c.transport == .tcp
        let extra = c.history.hasOverflow ? overflow[c.serial] ?? [] : []
        var connection = Connection(
            uid: uid(c.serial), startTime: Timestamp(nanoseconds: c.startTime), lastTime: Timestamp(nanoseconds: c.lastTime),
            originator: origin, responder: responder, transport: c.transport, ipProtocol: key.ipProtocol,
            connState: Self.connState(c, extraHistory: extra), history: extra.isEmpty ? c.history.string : String(decoding: c.history.letters + extra, as: UTF8.self),
            tcpState: isTCP && kernelStates ? c.tcpState : nil, originatorState: isTCP ? o.state : nil, responderState: isTCP ? r.state : nil,
            originatorCounters: counters(o, oRare, r), responderCounters: counters(r, rRare, o), missedBytes: rare.missedBytes,
            localOriginator: local.map { $0.contains(origin.address) }, localResponder: local.map { $0.contains(responder.address) },
            communityID: cid, endReason: reason)
        let synFromOriginator: Bool? = c.flags.contains(.firstSynFromA) ? c.origIsA
            : c.flags.contains(.firstSynFromB) ? !c.origIsA : nil
        if Services.originatorIsServer(transport: c.transport, originatorPort: origin.port, responderPort: responder.port,
                                       firstSYNFromOriginator: synFromOriginator, likely: configuration.likelyServerPorts) {
            connection.server = origin
            connection.client = responder
        }
        connection.service = Services.name(c.transport, port: connection.server.port)
        connection.id = c.serial
        if !tunnelCarriers.isEmpty, let carrier = tunnelCarriers[c.serial], carrier.confirmed {
            connection.service = carrier.kind.serviceName  // Zeek's analyzer confirmation
        }
        if !tunnelMembers.isEmpty, let m = tunnelMembers[c.serial] {
            connection.tunnelParents = m.parents.map { uid($0) }
            connection.tunnel = m.kind
        }
        if isTCP, kernelStates, windows.contains(e) {
            connection.kernelAssured = windows[e].assured
            if c.flags.contains(.ctCreated) || c.tcpState != .initial { connection.kernelTimeout = Int(windows[e].timeout) }
        }
        if keepsLinkFacts, linkFacts.contains(e) {
            let facts = linkFacts[e]
            if configuration.recordVLANs || configuration.vlanInKey {
                if facts.vlan != 0 { connection.vlan = facts.vlan & 0xFFF }
                if facts.innerVLAN != 0 { connection.innerVLAN = facts.innerVLAN & 0xFFF }
            }
            if configuration.recordL2Addresses {
                let (o, r) = c.origIsA ? (facts.addressA, facts.addressB) : (facts.addressB, facts.addressA)
                if !o.isZero { connection.originatorL2Address = o }
                if !r.isZero { connection.responderL2Address = r }
            }
        }
        return connection
    }
}
