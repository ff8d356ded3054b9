/// One direction's window-tracking data, as `struct ip_ct_tcp_state` keeps it.
struct KernelSide {
    /// Highest `seq + len` seen from this side (`td_end`).
    var end: UInt32 = 0
    /// Highest `ack + window` the peer advertised to it (`td_maxend`).
    var maxEnd: UInt32 = 0
    /// Largest window it advertised (`td_maxwin`; 0: nothing seen from it yet).
    var maxWin: UInt32 = 0
    /// Highest ack it sent (`td_maxack`).
    var maxAck: UInt32 = 0
    /// Its window scale shift (`td_scale`).
    var scale: UInt8 = 0
    /// ``KernelWindow`` flag bits (`IP_CT_TCP_FLAG_*`).
    var flags: UInt8 = 0
}

/// The Linux conntrack TCP entry beyond its state: both directions' window data and
/// the memory of the last packet (`struct ip_ct_tcp`, Docs/Conntrack.md §3), kept per
/// TCP connection only while the kernel-style state is followed.
struct KernelWindow {
    static let windowScale: UInt8 = 0x01
    static let sackPermitted: UInt8 = 0x02
    static let closeInit: UInt8 = 0x04
    static let beLiberal: UInt8 = 0x08
    static let dataUnacknowledged: UInt8 = 0x10
    static let maxAckSet: UInt8 = 0x20
    // `last_flags` bits.
    static let challengeAck: UInt8 = 0x40
    static let simultaneousOpen: UInt8 = 0x80

    /// `seen[IP_CT_DIR_ORIGINAL]`, `seen[IP_CT_DIR_REPLY]`.
    var original = KernelSide()
    var reply = KernelSide()
    var lastSeq: UInt32 = 0
    var lastAck: UInt32 = 0
    var lastEnd: UInt32 = 0
    var lastWin: UInt16 = 0
    /// Direction (0 original, 1 reply) and ``SegmentClass`` of the last packet that set them.
    var lastDir: UInt8 = 0
    var lastIndex: UInt8 = UInt8(SegmentClass.other.rawValue)
    var lastWScale: UInt8 = 0
    var lastFlags: UInt8 = 0
    /// Identical ACK-class packets in a row (`retrans`).
    var retrans: UInt8 = 0
    /// `IPS_ASSURED`.
    var assured = false
    /// The timeout set by the last packet that refreshed the entry, in seconds.
    var timeout: UInt32 = 0

    subscript(direction: Direction) -> KernelSide {
        get { direction == .original ? original : reply }
        set { if direction == .original { original = newValue } else { reply = newValue } }
    }
}

/// What conntrack did with a packet.
enum KernelVerdict {
    /// Accepted; the entry's timeout is refreshed to ``KernelWindow/timeout``.
    case refreshed
    /// Accepted (or ignored) without refreshing the timeout.
    case kept
    /// Invalid: nothing changes.
    case invalid
    /// The entry is deleted (a RST when no reply was ever seen).
    case killed
}

@inline(__always) func seqBefore(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
@inline(__always) func seqAfter(_ a: UInt32, _ b: UInt32) -> Bool { seqBefore(b, a) }

extension ConnectionTable {
    /// `tcp_options`: window scale and SACK-permitted from a packet with options.
    static func kernelOptions(_ p: DecodedPacket, _ s: inout KernelSide) {
        guard p.tcp.headerLength > 20 else { return }
        s.scale = 0
        s.flags = 0
        if p.tcp.options.sackPermitted { s.flags |= KernelWindow.sackPermitted }
        if let scale = p.tcp.options.windowScale {
            s.scale = min(scale, 14)
            s.flags |= KernelWindow.windowScale
        }
    }

    /// `segment_seq_plus_len`.
    static func kernelEnd(_ p: DecodedPacket) -> UInt32 {
        let f = p.tcp.flags
        return p.tcp.sequence &+ UInt32(truncatingIfNeeded: p.payloadLength) &+ (f.contains(.syn) ? 1 : 0) &+ (f.contains(.fin) ? 1 : 0)
    }

    /// `tcp_init_sender`.
    static func kernelInitSender(_ w: inout KernelWindow, _ d: Direction, _ p: DecodedPacket, end: UInt32, win: UInt32) {
        let r: Direction = d == .original ? .reply : .original
        w[d].end = end
        w[d].maxEnd = end
        w[d].maxWin = win == 0 ? 1 : win
        kernelOptions(p, &w[d])
        if !(w[d].flags & KernelWindow.windowScale != 0 && w[r].flags & KernelWindow.windowScale != 0) {
            w[d].scale = 0
            w[r].scale = 0
        }
    }

    /// `tcp_in_window` (net/netfilter/nf_conntrack_proto_tcp.c).
    static func kernelInWindow(_ w: inout KernelWindow, _ state: TCPState, _ d: Direction, _ index: SegmentClass,
                               _ p: DecodedPacket) -> Bool {
        let r: Direction = d == .original ? .reply : .original
        let f = p.tcp.flags
        var seq = p.tcp.sequence
        var ack = p.tcp.acknowledgment, sack = ack
        let winRaw = p.tcp.window
        var win = UInt32(winRaw)
        var end = kernelEnd(p)
        if w[r].flags & KernelWindow.sackPermitted != 0 {
            for i in 0..<p.tcp.options.sackBlockCount where seqAfter(p.tcp.options.sackBlock(i).right, sack) {
                sack = p.tcp.options.sackBlock(i).right
            }
        }
        if w[d].maxWin == 0 {
            if f.contains(.syn) {
                kernelInitSender(&w, d, p, end: end, win: win)
                if !f.contains(.ack) { return true }  // simultaneous open
            } else {
                // Picked up midstream: use what the packet says.
                w[d].end = end
                let swin = win << UInt32(w[d].scale)
                w[d].maxWin = swin == 0 ? 1 : swin
                w[d].maxEnd = end &+ w[d].maxWin
                if w[r].maxWin == 0 {
                    w[r].end = sack
                    w[r].maxEnd = sack
                } else if sack == w[r].end &+ 1 {
                    w[r].end &+= 1  // likely a reply to a keepalive
                }
            }
        } else if ((state == .synSent && d == .original) || (state == .synReceived && d == .reply)), seqAfter(end, w[d].end) {
            // A reinitialised connection uses sequence numbers above those used recently.
            w[d].end = end
            w[d].maxEnd = end
            w[d].maxWin = win == 0 ? 1 : win
            kernelOptions(p, &w[d])
        } else if f.contains(.syn), d == .reply, state == .synSent {
            // A retransmitted SYN-ACK, or a SYN in a simultaneous open.
            kernelInitSender(&w, d, p, end: end, win: win)
            if !f.contains(.ack) { return true }
        }
        if !f.contains(.ack) {
            ack = w[r].end
            sack = ack
        } else if f.contains(.rst), ack == 0 {
            ack = w[r].end  // stacks that set ACK on a RST with a zero ack
            sack = ack
        }
        if f.contains(.rst), seq == 0, state == .synSent {
            seq = w[d].end  // a RST answering a SYN
            end = seq
        }
        let maxAckWindow = max(w[d].maxWin, 66000)
        let inReceiveWindow = w[r].maxWin == 0 || seqAfter(end, w[d].end &- w[r].maxWin &- 1)
        if seqBefore(seq, w[d].maxEnd &+ 1), inReceiveWindow, seqBefore(sack, w[r].end &+ 1),
           seqAfter(sack, w[r].end &- maxAckWindow &- 1) {
            if !f.contains(.syn) { win <<= UInt32(w[d].scale) }
            let swin = win &+ (sack &- ack)
            if w[d].maxWin < swin { w[d].maxWin = swin }
            if seqAfter(end, w[d].end) {
                w[d].end = end
                w[d].flags |= KernelWindow.dataUnacknowledged
            }
            if f.contains(.ack) {
                if w[d].flags & KernelWindow.maxAckSet == 0 {
                    w[d].maxAck = ack
                    w[d].flags |= KernelWindow.maxAckSet
                } else if seqAfter(ack, w[d].maxAck) {
                    w[d].maxAck = ack
                }
            }
            if w[r].maxWin != 0, seqAfter(end, w[d].maxEnd) { w[r].maxWin &+= end &- w[d].maxEnd }
            if seqAfter(sack &+ win, w[r].maxEnd &- 1) {
                w[r].maxEnd = sack &+ win
                if win == 0 { w[r].maxEnd &+= 1 }
            }
            if ack == w[r].end { w[r].flags &= ~KernelWindow.dataUnacknowledged }
            if index == .ack {
                let dir = UInt8(d.rawValue)
                if w.lastDir == dir, w.lastSeq == seq, w.lastAck == ack, w.lastEnd == end, w.lastWin == winRaw {
                    w.retrans &+= w.retrans == .max ? 0 : 1
                } else {
                    w.lastDir = dir; w.lastSeq = seq; w.lastAck = ack; w.lastEnd = end; w.lastWin = winRaw
                    w.retrans = 0
                }
            }
            return true
        }
        return w[d].flags & KernelWindow.beLiberal != 0
    }

    /// `nf_conntrack_tcp_packet` (Docs/Conntrack.md §2–§4): the kernel-style state of a TCP
    /// connection, with the table, `tcp_new`, the window checks of `tcp_in_window`, the RST
    /// acceptance rules, the IGNORE resynchronisation, retransmission counting, the timeout
    /// choice and ASSURED. Not called for packets with a bad checksum when checksums are verified.
    static func kernelTrack(_ c: inout ConnectionState, _ w: inout KernelWindow, _ p: DecodedPacket, fromA: Bool) -> KernelVerdict {
        let verdict = kernelStep(&c, &w, p, fromA: fromA)
        // `IPS_SEEN_REPLY` is set once a reply-direction packet has been accepted, after it is handled.
        if verdict == .refreshed || verdict == .kept, c.flags.contains(.ctCreated), fromA != c.flags.contains(.ctOrigIsA) {
            c.flags.insert(.ctSeenReply)
        }
        return verdict
    }

    static func kernelStep(_ c: inout ConnectionState, _ w: inout KernelWindow, _ p: DecodedPacket, fromA: Bool) -> KernelVerdict {
        let flags = p.tcp.flags
        guard SegmentClass.isValid(flags) else { return .invalid }  // tcp_error
        let index = SegmentClass(flags)
        if !c.flags.contains(.ctCreated) {
            guard kernelNew(&c, &w, p, index: index, fromA: fromA) else { return .invalid }
        }
        let d: Direction = fromA == c.flags.contains(.ctOrigIsA) ? .original : .reply
        let seenReply = c.flags.contains(.ctSeenReply)
        var old = c.tcpState
        var new = TCPState.next(d, index, old)
        let dir = UInt8(d.rawValue)
        var checkWindow = true
        switch new {
        case .synSent where old == .timeWait || old == .close:
            // Reopening a closed or aborted connection: a fresh entry from this packet.
            if (w.original.flags | w.reply.flags) & KernelWindow.closeInit != 0
                || (w.lastDir == dir && w.lastIndex == UInt8(SegmentClass.rst.rawValue)) {
                c.flags.remove(.ctCreated)
                w = KernelWindow()
                guard kernelNew(&c, &w, p, index: index, fromA: fromA) else { return .invalid }
                return kernelStep(&c, &w, p, fromA: fromA)
            }
            fallthrough
        case .ignore, .synSent:
            if new == .synSent, old != .timeWait, old != .close { break }
            if index == .synAck, w.lastIndex == UInt8(SegmentClass.syn.rawValue), w.lastDir != dir,
               p.tcp.acknowledgment == w.lastEnd {
                // This SYN-ACK answers a SYN ignored earlier: both ends are in sync, so get in
                // sync from what that SYN said.
                old = .synSent
                new = .synReceived
                let last: Direction = w.lastDir == 0 ? .original : .reply
                w[last].end = w.lastEnd
                w[last].maxEnd = w.lastEnd
                w[last].maxWin = w.lastWin == 0 ? 1 : UInt32(w.lastWin)
                w[last].scale = w.lastWScale
                w.lastFlags &= ~KernelWindow.challengeAck
                w[last].flags = w.lastFlags & 0x3F
                w[d] = KernelSide()
                break
            }
            w.lastIndex = UInt8(index.rawValue)
            w.lastDir = dir
            w.lastSeq = p.tcp.sequence
            w.lastEnd = kernelEnd(p)
            w.lastWin = p.tcp.window
            if index == .syn, d == .original {
                var seen = KernelSide()
                w.lastFlags = 0
                w.lastWScale = 0
                kernelOptions(p, &seen)
                if seen.flags & KernelWindow.windowScale != 0 {
                    w.lastFlags |= KernelWindow.windowScale
                    w.lastWScale = seen.scale
                }
                if seen.flags & KernelWindow.sackPermitted != 0 { w.lastFlags |= KernelWindow.sackPermitted }
                if old == .lastAck { w.lastFlags |= KernelWindow.challengeAck }
            }
            return .kept
        case .invalid:
            return .invalid
        case .timeWait:
            if old == .lastAck, index == .ack, w.lastDir != dir, w.lastIndex == UInt8(SegmentClass.syn.rawValue),
               w.lastFlags & KernelWindow.challengeAck != 0 {
                w.lastFlags &= ~KernelWindow.challengeAck  // an RFC 5961 challenge ACK, not the last ACK
                return .kept
            }
        case .synSent2:
            w.lastFlags |= KernelWindow.simultaneousOpen
        case .synReceived:
            if d == .reply, index == .ack, w.lastFlags & KernelWindow.simultaneousOpen != 0 { new = .established }
        case .close where index == .rst:
            let r: Direction = d == .original ? .reply : .original
            let established = old == .established && w.assured
            switch old {
            case .finWait, .lastAck, .timeWait, .close, .closeWait:
                checkWindow = false  // closing: accepted without checks
            default:
                var decided = false
                if w[r].flags & KernelWindow.maxAckSet != 0, w.lastIndex != UInt8(SegmentClass.syn.rawValue) {
                    let seq = p.tcp.sequence
                    if seq == 0, !established {
                        decided = true  // most likely the answer to a SYN let through
                    } else if seqBefore(seq, w[r].maxAck) {
                        return .invalid  // a RST below what the peer acknowledged
                    } else if !established || seq == w[r].maxAck {
                        decided = true
                    } else if w.lastIndex == UInt8(SegmentClass.ack.rawValue), w.lastDir == dir, seq == w.lastEnd {
                        decided = true  // the RST ends a train of this side's segments
                    } else {
                        new = old  // not exactly the expected sequence: wait for the challenge ACK
                    }
                }
                if !decided, (seenReply && w.lastIndex == UInt8(SegmentClass.syn.rawValue))
                    || (!w.assured && w.lastIndex == UInt8(SegmentClass.ack.rawValue)),
                   p.tcp.acknowledgment == w.lastEnd {
                    checkWindow = false  // a RST to a SYN or ACK let through: skip the window
                }
            }
        default:
            break
        }
        if checkWindow, !kernelInWindow(&w, old, d, index, p) { return .invalid }
        // In window from here on.
        w.lastIndex = UInt8(index.rawValue)
        w.lastDir = dir
        c.tcpState = new
        if old != new, new == .finWait { w[d].flags |= KernelWindow.closeInit }
        let stateTimeout = UInt32(TrackerConfiguration.conntrackTimeout(new))
        var timeout: UInt32
        if w.retrans >= 3, stateTimeout > 300 {
            timeout = 300  // RETRANS
        } else if index == .rst {
            timeout = 10  // CLOSE
        } else if (w.original.flags | w.reply.flags) & KernelWindow.dataUnacknowledged != 0, stateTimeout > 300 {
            timeout = 300  // UNACK
        } else if w.lastWin == 0, stateTimeout > 300 {
            timeout = 300  // RETRANS
        } else {
            timeout = stateTimeout
        }
        if !seenReply {
            if flags.contains(.rst) {
                // The only answer was a RST: the entry is deleted; the next packet may create another.
                c.flags.remove(.ctCreated)
                return .killed
            }
            if index == .syn, old == .synSent { return .kept }  // a SYN retransmission does not refresh
            if new == .established, timeout > 300 { timeout = 300 }  // a midstream pickup without a reply
        } else if !w.assured, old == .synReceived || old == .established, new == .established {
            w.assured = true
        }
        w.timeout = timeout
        return .refreshed
    }

    /// `tcp_new`: whether this packet creates the entry (a SYN, or an ACK-class packet picked up midstream).
    static func kernelNew(_ c: inout ConnectionState, _ w: inout KernelWindow, _ p: DecodedPacket, index: SegmentClass,
                          fromA: Bool) -> Bool {
        let state = TCPState.next(.original, index, .initial)
        guard state == .synSent || state == .established else { return false }
        w = KernelWindow()
        let end = kernelEnd(p)
        w.original.end = end
        w.original.maxWin = p.tcp.window == 0 ? 1 : UInt32(p.tcp.window)
        if state == .synSent {
            w.original.maxEnd = end
            kernelOptions(p, &w.original)
        } else {
            w.original.maxEnd = end &+ w.original.maxWin
            w.original.flags = KernelWindow.sackPermitted | KernelWindow.beLiberal
            w.reply.flags = KernelWindow.sackPermitted | KernelWindow.beLiberal
        }
        c.flags.insert(.ctCreated)
        c.flags.remove(.ctSeenReply)
        if fromA { c.flags.insert(.ctOrigIsA) } else { c.flags.remove(.ctOrigIsA) }
        c.tcpState = .initial
        return true
    }
}
