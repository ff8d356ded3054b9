/// What a TCP packet asks the tracker to do after the state update.
struct Actions: OptionSet {
    var rawValue: UInt8
    /// The originator's SYN from INACTIVE: arm the attempt timer.
    static let attempt = Actions(rawValue: 1)
    /// The close is complete: arm the delete timer.
    static let closeComplete = Actions(rawValue: 2)
    /// An endpoint closed: run `ConnectionClosed` (internal to the packet step).
    static let closeIncomplete = Actions(rawValue: 4)
    /// A handshake state was left while the peer was still in one.
    static let handshakeDone = Actions(rawValue: 8)
    /// A half close: arm another expire check `tcp_session_timer` after the last packet.
    static let expireLater = Actions(rawValue: 16)
}

/// Extends a 32-bit sequence number to the 64-bit value nearest `reference`.
@inline(__always)
func extend(_ value: UInt32, near reference: UInt64) -> UInt64 {
    let candidate = (reference & ~0xFFFF_FFFF) | UInt64(value)
    if candidate &+ 0x8000_0000 < reference, candidate < UInt64.max - 0xFFFF_FFFF { return candidate + 0x1_0000_0000 }
    if candidate > reference &+ 0x8000_0000, candidate >= 0x1_0000_0000 { return candidate - 0x1_0000_0000 }
    return candidate
}

extension ConnectionTable {
    /// One TCP packet, in the order of Docs/ZeekSemantics.md §3.2.
    static func processTCP(_ c: inout ConnectionState, _ r: inout RareState, _ p: DecodedPacket, fromA: Bool, time: Int64,
                           verify: Bool) -> Actions {
        // 1. A header whose options the snapshot length cut creates the connection, nothing more.
        if p.cut == .tcp { return [] }
        var e = fromA ? c.a : c.b
        var q = fromA ? c.b : c.a
        var er = fromA ? r.a : r.b
        var qr = fromA ? r.b : r.a
        // The direction the packet arrived in; the state machine keeps using it even
        // if this packet flips the connection (Zeek's `is_orig`).
        let arrivedAsOrig = fromA == c.origIsA
        let flags = p.tcp.flags
        let seq = p.tcp.sequence
        let len = p.payloadLength
        let syn = flags.contains(.syn), fin = flags.contains(.fin), rst = flags.contains(.rst), ack = flags.contains(.ack)

        // 2. Checksum (not for packets the snapshot length cut).
        if verify, p.transportChecksum == .bad {
            if Self.bump(&er.badChecksums) { c.addHistory(UInt8(ascii: "C"), isOrig: arrivedAsOrig) }
            if fromA { r.a = er } else { r.b = er }
            return []
        }
        if syn, !ack, !c.flags.contains(.firstSynFromA), !c.flags.contains(.firstSynFromB) {
            c.flags.insert(fromA ? .firstSynFromA : .firstSynFromB)
        }
        // 3. Sequence space of the sender (`init_endpoint`); RST payload is not sequence space.
        let segmentLength = UInt64(rst ? 0 : len) &+ (syn ? 1 : 0) &+ (fin ? 1 : 0)
        Self.initEndpoint(&e, &er, syn: syn, seq: seq, segmentLength: segmentLength)
        // 4. Relative sequence number.
        let base = extend(seq, near: e.last)
        let relSeq = UInt32(truncatingIfNeeded: base &- e.start)

        // 5. History letter (where the "H" flip can happen).
        let multi = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0)
        if multi > 1 {
            if fin && rst { _ = c.checkHistory(HistoryBit.finRst, UInt8(ascii: "I"), isOrig: arrivedAsOrig) }
            else { _ = c.checkHistory(HistoryBit.multiFlag, UInt8(ascii: "Q"), isOrig: arrivedAsOrig) }
        } else if multi == 1 {
            if syn {
                let code = ack ? UInt8(ascii: "H") : UInt8(ascii: "S")
                if c.checkHistory(HistoryBit.syn, code, isOrig: arrivedAsOrig), relSeq != er.lastSyn {
                    c.addHistory(code, isOrig: arrivedAsOrig)
                }
                er.lastSyn = relSeq
            }
            if fin {
                // A FIN's position is after its data, unlike a SYN's or RST's.
                let end = relSeq &+ UInt32(truncatingIfNeeded: len)
                if c.checkHistory(HistoryBit.fin, UInt8(ascii: "F"), isOrig: arrivedAsOrig), end != e.lastFin {
                    c.addHistory(UInt8(ascii: "F"), isOrig: arrivedAsOrig)
                }
                e.lastFin = end
            }
            if rst {
                if c.checkHistory(HistoryBit.rst, UInt8(ascii: "R"), isOrig: arrivedAsOrig), relSeq != er.lastRst {
                    c.addHistory(UInt8(ascii: "R"), isOrig: arrivedAsOrig)
                }
                er.lastRst = relSeq
            }
        } else if len > 0 || ack {
            if c.history.isExactly(UInt8(ascii: "H")) {
                // §2.2: a connection that began with an un-flipped SYN-ACK flips on its
                // first productive packet, and the history is rewritten to "^h".
                if c.flags.contains(.origIsA) { c.flags.remove(.origIsA) } else { c.flags.insert(.origIsA) }
                c.history.replace(with: [UInt8(ascii: "^"), UInt8(ascii: "h")])
            }
            let isOrigNow = fromA == c.origIsA
            if len > 0 { _ = c.checkHistory(HistoryBit.data, UInt8(ascii: "D"), isOrig: isOrigNow) }
            else { _ = c.checkHistory(HistoryBit.ack, UInt8(ascii: "A"), isOrig: isOrigNow) }
        }

        // 6. Zero window.
        if p.tcp.window == 0, !rst, q.state != .closed, e.state != .reset {
            if Self.bump(&er.zeroWindows) { c.addHistory(UInt8(ascii: "W"), isOrig: fromA == c.origIsA) }
        }
        // 7. last_time, unless both sides have closed.
        if !(e.flags.contains(.didClose) && q.flags.contains(.didClose)) { c.lastTime = time }
        // 8. FIN / RST bookkeeping.
        if fin { e.flags.insert(.finSeen) }
        if rst { e.flags.insert(.rstSeen) }
        // 9. The ACK: initialise an INACTIVE peer from it (`init_peer`), else advance
        // what it has acknowledged (not from a RST; a zero ack far away is ignored).
        if ack {
            if q.state == .inactive {
                let start = UInt64(p.tcp.acknowledgment &- 1)
                q.start = start; q.last = start; q.ack = start
                q.delivered = 0; qr.setOOO(0, 0, q)
                q.flags.insert(.seqInitialized)
            } else if !rst {
                let a = extend(p.tcp.acknowledgment, near: q.ack)
                let delta = Int64(bitPattern: a &- q.ack)
                if !(p.tcp.acknowledgment == 0 && delta > 1 << 20), delta > 0 { q.ack = a }
            }
        }
        // 10. Highest sequence (`update_last_seq`), or a retransmission.
        let segmentEnd = base &+ segmentLength
        let delta = Int64(bitPattern: segmentEnd &- e.last)
        if (syn || rst) && (delta > 1 << 20 || delta < -(1 << 20)) {
            // A SYN or RST far outside the sequence space is not trusted.
        } else if fin, e.last == e.start &+ 1 {
            e.last = segmentEnd  // only the SYN and the FIN seen: trust the FIN (> 2 GB transfers)
        } else if e.state == .reset {
            // Nothing after a RST is trusted.
        } else if delta > 0 {
            e.last = segmentEnd
        } else if len > 0 {
            if Self.bump(&er.retransmissions) { c.addHistory(UInt8(ascii: "T"), isOrig: fromA == c.origIsA) }
        }
        // 11. State machine, with the direction the packet arrived in.
        var actions = Self.stateMachine(&c, &e, &q, isOrig: arrivedAsOrig, flags: flags, base: base, len: len)
        // 12. The ACK reaches the peer's reassembler: holes in its data are gaps.
        if ack, !rst, q.state != .inactive {
            var a = q.ack
            if q.flags.contains(.finSeen), q.last > q.start { a = min(a, q.last - 1) }
            let gap = Self.acknowledge(&q, &qr, upTo: a)
            if gap > 0, Self.gapCounts(e), Self.gapCounts(q) {
                r.missedBytes &+= gap
                if Self.bump(&qr.gaps) { c.addHistory(UInt8(ascii: "G"), isOrig: fromA != c.origIsA) }
            }
        }
        // 13. Fully captured payload (not on a RST) into the sender's reassembler.
        if len > 0, !rst, p.capturedPayloadLength == len, base >= e.start {
            let start = base &+ (syn ? 1 : 0)
            Self.addData(&e, &er, start, start &+ UInt64(len))
        }
        e.payloadBytes &+= UInt64(len)
        // 14. Closing.
        if actions.contains(.closeIncomplete) {
            actions.remove(.closeIncomplete)
            actions.formUnion(Self.connectionClosed(&e, &q))
        }
        if fromA { c.a = e; c.b = q; r.a = er; r.b = qr } else { c.b = e; c.a = q; r.b = er; r.a = qr }
        // 15. ConnSize.
        Self.count(&c, fromA: fromA, ipBytes: p.ipTotalLength)
        return actions
    }

    /// `init_endpoint`: (re)initialises a side's sequence space from this segment.
    static func initEndpoint(_ e: inout Side, _ er: inout RareSide, syn: Bool, seq: UInt32, segmentLength: UInt64) {
        func reset(start: UInt64, last: UInt64) {
            e.start = start; e.ack = start; e.last = last
            e.delivered = 0; er.setOOO(0, 0, e)
            e.flags.insert(.seqInitialized)
        }
        let s = UInt64(seq)
        switch e.state {
        case .inactive:
            // Without a SYN, number as though one had been seen; the first segment is not a retransmission.
            if syn { reset(start: s, last: s &+ segmentLength) } else {
                let start = UInt64(seq &- 1)
                reset(start: start, last: start &+ 1)
            }
        case .synSent, .synAckSent:
            if syn, s != e.start & 0xFFFF_FFFF { reset(start: s, last: s &+ segmentLength) }  // SYN_seq_jump
        case .established, .partial:
            if syn { reset(start: s, last: s &+ segmentLength) }  // guess the connection is being set up anew
        case .reset:
            if syn, e.prevState == .inactive { reset(start: s, last: s &+ segmentLength) }  // the RST was likely spoofed
        case .closed:
            break
        }
    }

    /// Whether a side's state lets gaps count (ESTABLISHED, or closed from ESTABLISHED).
    static func gapCounts(_ s: Side) -> Bool {
        s.state == .established || ((s.state == .closed || s.state == .reset) && s.prevState == .established)
    }

    /// Adds a fully captured segment [from, to) to a side's data.
    static func addData(_ x: inout Side, _ xr: inout RareSide, _ from: UInt64, _ to: UInt64) {
        if x.delivered == 0 { x.delivered = x.start &+ 1 }
        guard to > x.delivered else { return }
        var (os, oe) = xr.ooo(x)
        if from <= x.delivered {
            var d = to
            if oe > os, os <= d {
                d = max(d, oe)
                os = 0; oe = 0
            }
            x.delivered = d
        } else if oe <= os {
            os = from; oe = to
        } else if from <= oe, to >= os {
            os = min(os, from); oe = max(oe, to)
        } else if from < os {
            os = from; oe = to  // keep the range nearer the hole (one range is tracked)
        }
        xr.setOOO(os, oe, x)
    }

    /// The peer acknowledged a side's data up to `a`: returns the bytes never seen.
    static func acknowledge(_ x: inout Side, _ xr: inout RareSide, upTo a: UInt64) -> UInt64 {
        if x.delivered == 0 { x.delivered = x.start &+ 1 }
        guard a > x.delivered else { return 0 }
        let (os, oe) = xr.ooo(x)
        var gap: UInt64
        if oe > os, os < a {
            gap = os - x.delivered
            if a > oe { gap += a - oe }
            x.delivered = max(a, oe)
            xr.setOOO(0, 0, x)
        } else {
            gap = a - x.delivered
            x.delivered = a
            xr.setOOO(os, oe, x)
        }
        return gap
    }

    /// `UpdateStateMachine` (Docs/ZeekSemantics.md §3.3). Flags are handled SYN, then FIN, then RST.
    static func stateMachine(_ c: inout ConnectionState, _ e: inout Side, _ q: inout Side, isOrig: Bool, flags: TCPFlags,
                      base: UInt64, len: Int) -> Actions {
        let syn = flags.contains(.syn), fin = flags.contains(.fin), rst = flags.contains(.rst), ack = flags.contains(.ack)
        var actions: Actions = []
        /// `TCP_Endpoint::SetState`: leaving the handshake states while the peer is still in
        /// one switches the connection to the TCP inactivity timeout (Docs/Encapsulation.md §4a).
        /// The order of the calls matters: on a SYN-ACK the peer moves first.
        func set(_ s: inout Side, peer: EndpointState, _ new: EndpointState) {
            if new != s.state, !new.isHandshake, s.state.isHandshake, peer.isHandshake { actions.insert(.handshakeDone) }
            s.setState(new)
        }
        /// A FIN closes the side, a RST resets it; either may end the connection.
        func closeOrReset(_ e: inout Side) {
            if fin {
                set(&e, peer: q.state, .closed)
                actions.insert(.closeIncomplete)
            }
            if rst {
                set(&e, peer: q.state, .reset)
                actions.insert(.closeIncomplete)
            }
        }
        switch e.state {
        case .inactive:
            if syn {
                if isOrig {
                    set(&e, peer: q.state, ack ? .synAckSent : .synSent)
                    actions.insert(.attempt)
                } else {
                    if !ack, q.state == .synAckSent, base & 0xFFFF_FFFF == e.start & 0xFFFF_FFFF {
                        // SYN/SYN-ACK reversal: the SYN-ACK was captured before the SYN.
                        c.flip()
                        set(&q, peer: e.state, .established)
                    }
                    if q.state == .synSent { set(&q, peer: e.state, .established) }
                    set(&e, peer: q.state, .established)
                    if q.state != .partial { c.flags.insert(.established) }
                }
            }
            closeOrReset(&e)
            if e.state == .inactive {
                let origSide = isOrig ? e : q
                if !isOrig, len == 0, origSide.state == .synSent {
                    // An ACK before the SYN-ACK: stays INACTIVE.
                } else if ack, q.state == .established {
                    set(&e, peer: q.state, .established)
                } else {
                    set(&e, peer: q.state, .partial)
                }
            }
        case .synSent, .synAckSent:
            closeOrReset(&e)
        case .partial, .established:
            if syn, e.state == .partial, q.state == .inactive, !ack { set(&e, peer: q.state, .synSent) }
            if fin, !rst {
                set(&e, peer: q.state, .closed)
                // A FIN followed by a RST from the peer counts as a normal close.
                if q.state == .reset, q.prevState == .closed { set(&q, peer: e.state, .closed) }
                actions.insert(.closeIncomplete)
            }
            if rst {
                set(&e, peer: q.state, .reset)
                actions.insert(.closeIncomplete)
            }
        case .closed:
            // After a FIN exchange a RST changes nothing; a RST after our FIN alone resets.
            if rst, q.state != .closed {
                set(&e, peer: q.state, .reset)
                if !e.flags.contains(.didClose) { actions.insert(.closeIncomplete) }
            }
        case .reset:
            break
        }
        return actions
    }

    /// `ConnectionClosed` (§3.5): returns whether the close is complete.
    static func connectionClosed(_ e: inout Side, _ q: inout Side) -> Actions {
        if e.flags.contains(.didClose) { return [] }  // nothing new to report
        e.flags.insert(.didClose)
        let complete = e.state == .reset || q.flags.contains(.didClose) || q.state == .inactive
        return complete ? .closeComplete : (e.prevState != .inactive ? .expireLater : [])
    }

    // MARK: conntrack (Docs/Conntrack.md §2–3)

    /// The kernel-style state shown for a connection: tracked in the conntrack
    /// profile, and in the Zeek profile derived from the same table on the side.
    func conntrackTimeout(_ c: ConnectionState) -> Int64 {
        let seconds: Double
        switch c.transport {
        case .tcp: seconds = TrackerConfiguration.conntrackTimeout(c.tcpState)  // before the kernel's entry exists
        case .udp:
            let replied = c.a.flags.contains(.active) && c.b.flags.contains(.active)
            seconds = replied && c.lastTime - c.startTime >= 2_000_000_000 ? 120 : 30
        case .icmp: seconds = 30
        case .unknown: seconds = 600
        }
        return Int64(seconds * 1e9)
    }
}
