/// A TCP endpoint's state as Zeek tracks it (`TCP_Endpoint.h`; Docs/ZeekSemantics.md §3.1).
public enum EndpointState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Nothing seen from this side (or only packets that did not change state).
    case inactive
    /// Sent a SYN without ACK.
    case synSent
    /// The originator sent a SYN-ACK without an earlier SYN.
    case synAckSent
    /// Sent something without a SYN (picked up midstream).
    case partial
    /// The handshake completed for this side.
    case established
    /// Sent a FIN.
    case closed
    /// Sent a RST.
    case reset

    /// Zeek's script name, such as `TCP_ESTABLISHED`.
    public var description: String {
        switch self {
        case .inactive: return "TCP_INACTIVE"
        case .synSent: return "TCP_SYN_SENT"
        case .synAckSent: return "TCP_SYN_ACK_SENT"
        case .partial: return "TCP_PARTIAL"
        case .established: return "TCP_ESTABLISHED"
        case .closed: return "TCP_CLOSED"
        case .reset: return "TCP_RESET"
        }
    }

    /// Whether the state is part of the handshake (INACTIVE, SYN_SENT, SYN_ACK_SENT).
    @inlinable public var isHandshake: Bool { self == .inactive || self == .synSent || self == .synAckSent }
}

/// Zeek's summary of a connection (`conn_state` in conn.log; Docs/ZeekSemantics.md §4).
public enum ConnState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Connection attempt seen, no reply.
    case s0
    /// Established, not terminated.
    case s1
    /// Normal establishment and termination.
    case sf
    /// Connection attempt rejected.
    case rej
    /// Established, originator closed, no reply from the responder.
    case s2
    /// Established, responder closed, no reply from the originator.
    case s3
    /// Established, originator aborted (RST).
    case rsto
    /// Responder sent a RST.
    case rstr
    /// Originator sent a SYN then a RST; no SYN-ACK from the responder.
    case rstos0
    /// Responder sent a SYN-ACK then a RST; no SYN from the originator.
    case rstrh
    /// Originator sent a SYN then a FIN; no SYN-ACK ("half open").
    case sh
    /// Responder sent a SYN-ACK then a FIN; no SYN from the originator.
    case shr
    /// No SYN seen, just midstream traffic; also every ICMP and non-TCP/UDP flow.
    case oth

    /// The two-to-six letter name.
    public var description: String {
        switch self {
        case .s0: return "S0"
        case .s1: return "S1"
        case .sf: return "SF"
        case .rej: return "REJ"
        case .s2: return "S2"
        case .s3: return "S3"
        case .rsto: return "RSTO"
        case .rstr: return "RSTR"
        case .rstos0: return "RSTOS0"
        case .rstrh: return "RSTRH"
        case .sh: return "SH"
        case .shr: return "SHR"
        case .oth: return "OTH"
        }
    }
}

/// The Linux conntrack TCP state (`nf_conntrack_proto_tcp.c`; Docs/Conntrack.md §1),
/// the state `conntrack -L` and `netstat` users read.
public enum TCPState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// No state yet (the kernel's `TCP_CONNTRACK_NONE`, printed `NONE`).
    case initial
    /// SYN seen from the originator.
    case synSent
    /// SYN-ACK seen.
    case synReceived
    /// Handshake complete (or picked up midstream).
    case established
    /// First FIN seen.
    case finWait
    /// ACK seen after the FIN.
    case closeWait
    /// FIN seen in the other direction as well.
    case lastAck
    /// Last ACK seen.
    case timeWait
    /// RST seen.
    case close
    /// SYN seen from the reply direction too (simultaneous open).
    case synSent2
    /// Table result: the packet is invalid here; the state does not change.
    case invalid
    /// Table result: the packet may be valid but we may be out of sync; ignored.
    case ignore

    /// The states stored in a connection (the first ten).
    @usableFromInline static let stored = 10

    /// The kernel's name, as `conntrack -L` prints it (`SYN_SENT`, `ESTABLISHED`…).
    public var description: String {
        switch self {
        case .initial: return "NONE"
        case .synSent: return "SYN_SENT"
        case .synReceived: return "SYN_RECV"
        case .established: return "ESTABLISHED"
        case .finWait: return "FIN_WAIT"
        case .closeWait: return "CLOSE_WAIT"
        case .lastAck: return "LAST_ACK"
        case .timeWait: return "TIME_WAIT"
        case .close: return "CLOSE"
        case .synSent2: return "SYN_SENT2"
        case .invalid: return "INVALID"
        case .ignore: return "IGNORE"
        }
    }
}

/// A packet's direction relative to the conntrack entry's originator.
public enum Direction: Int, Sendable, CaseIterable {
    /// From the host that sent the entry's first packet.
    case original = 0
    /// From the other host.
    case reply = 1
}

/// The conntrack packet class (`get_conntrack_index`), in priority order.
public enum SegmentClass: Int, Sendable, CaseIterable {
    /// SYN without ACK.
    case syn = 0
    /// SYN with ACK.
    case synAck
    /// FIN (with ACK).
    case fin
    /// ACK, with or without payload.
    case ack
    /// RST, whatever else is set.
    case rst
    /// None of the above (no SYN, FIN, ACK or RST).
    case other

    /// The number of classes (table rows per direction).
    @usableFromInline static let count = 6

    /// Classifies TCP flags: RST first, then SYN/SYN-ACK, FIN, ACK.
    @inlinable public init(_ flags: TCPFlags) {
        if flags.contains(.rst) { self = .rst }
        else if flags.contains(.syn) { self = flags.contains(.ack) ? .synAck : .syn }
        else if flags.contains(.fin) { self = .fin }
        else if flags.contains(.ack) { self = .ack }
        else { self = .other }
    }

    /// Whether the flag combination is one `tcp_error()` accepts (PSH, ECE, CWR ignored):
    /// SYN, SYN+URG, SYN+ACK, RST, RST+ACK, FIN+ACK, FIN+ACK+URG, ACK, ACK+URG.
    @inlinable public static func isValid(_ flags: TCPFlags) -> Bool {
        let f = flags.rawValue & (TCPFlags.fin.rawValue | TCPFlags.syn.rawValue | TCPFlags.rst.rawValue | TCPFlags.ack.rawValue | TCPFlags.urg.rawValue)
        let S = TCPFlags.syn.rawValue, A = TCPFlags.ack.rawValue, R = TCPFlags.rst.rawValue
        let F = TCPFlags.fin.rawValue, U = TCPFlags.urg.rawValue
        switch f {
        case S, S | U, S | A, R, R | A, F | A, F | A | U, A, A | U: return true
        default: return false
        }
    }
}

extension TCPState {
    // Two-letter aliases, as in nf_conntrack_proto_tcp.c.
    static let NO = TCPState.initial, SS = synSent, SR = synReceived, ES = established, FW = finWait
    static let CW = closeWait, LA = lastAck, TW = timeWait, CL = close, S2 = synSent2, IV = invalid, IG = ignore

    /// `tcp_conntracks[direction][class][state]`: rows are (direction, segment class),
    /// columns the current state (Docs/Conntrack.md §2).
    @usableFromInline static let transitions: [TCPState] = [
    //                 NO   SS   SR   ES   FW   CW   LA   TW   CL   S2
    /* orig syn    */ .SS, .SS, .IG, .IG, .IG, .IG, .IG, .SS, .SS, .S2,
    //  starts; retransmits; re-opens after TIME_WAIT/CLOSE; otherwise ignored (the peer RSTs a bogus one)
    /* orig synack */ .IV, .IV, .SR, .IV, .IV, .IV, .IV, .IV, .IV, .SR,
    //  only meaningful in simultaneous open (S2 → SR) or as a late retransmission in SR
    /* orig fin    */ .IV, .IV, .FW, .FW, .LA, .LA, .LA, .TW, .CL, .IV,
    //  first FIN → FIN_WAIT; a FIN after a FIN → LAST_ACK; FIN before the handshake is invalid
    /* orig ack    */ .ES, .IV, .ES, .ES, .CW, .CW, .TW, .TW, .CL, .IV,
    //  midstream pickup (loose); completes the handshake; ACK of the first FIN → CLOSE_WAIT, of the last → TIME_WAIT
    /* orig rst    */ .IV, .CL, .CL, .CL, .CL, .CL, .CL, .CL, .CL, .CL,
    //  RST closes everything but NONE
    /* orig none   */ .IV, .IV, .IV, .IV, .IV, .IV, .IV, .IV, .IV, .IV,
    //  a packet without SYN/FIN/ACK/RST is never valid
    /* reply syn   */ .IV, .S2, .IV, .IV, .IV, .IV, .IV, .SS, .IV, .S2,
    //  simultaneous open (SS → S2); after TIME_WAIT the roles may have switched (→ SS)
    /* reply synack*/ .IV, .SR, .IG, .IG, .IG, .IG, .IG, .IG, .IG, .SR,
    //  the normal open (SS/S2 → SR); later SYN-ACKs are ignored
    /* reply fin   */ .IV, .IV, .FW, .FW, .LA, .LA, .LA, .TW, .CL, .IV,
    //  as for the original direction: the table does not check which side sent the FIN
    /* reply ack   */ .IV, .IG, .SR, .ES, .CW, .CW, .TW, .TW, .CL, .IG,
    //  an ACK before the SYN-ACK is ignored (possible half-open); SR stays SR; closes as above
    /* reply rst   */ .IV, .CL, .CL, .CL, .CL, .CL, .CL, .CL, .CL, .CL,
    //  RST closes everything but NONE
    /* reply none  */ .IV, .IV, .IV, .IV, .IV, .IV, .IV, .IV, .IV, .IV,
    ]

    /// The table's verdict for a packet of class `c` travelling in direction `d` in state `s`.
    @inlinable
    public static func next(_ d: Direction, _ c: SegmentClass, _ s: TCPState) -> TCPState {
        transitions[(d.rawValue * SegmentClass.count + c.rawValue) * TCPState.stored + Int(s.rawValue)]
    }
}
