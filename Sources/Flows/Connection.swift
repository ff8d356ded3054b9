/// Why a connection ended.
public enum EndReason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Closed with FIN from both sides (or FIN with a silent peer), then `tcp_close_delay`.
    case fin
    /// Reset, then `tcp_close_delay`.
    case rst
    /// Idle for its inactivity timeout, an unanswered attempt, or wound down (expire timer).
    case timeout
    /// A new connection with the same 5-tuple replaced it (TCP SYN with a new ISN).
    case reuse
    /// Evicted to stay within the configured maximum number of flows.
    case eviction
    /// Still open when the input ended.
    case endOfInput

    /// `fin`, `rst`, `timeout`, `reuse`, `eviction`, `end_of_input`.
    public var description: String {
        switch self {
        case .fin: return "fin"
        case .rst: return "rst"
        case .timeout: return "timeout"
        case .reuse: return "reuse"
        case .eviction: return "eviction"
        case .endOfInput: return "end_of_input"
        }
    }
}

/// Per-direction counters of a connection.
public struct DirectionCounters: Sendable, Hashable {
    /// Packets.
    public var packets: UInt64
    /// Bytes per the IP total-length fields (Zeek's `*_ip_bytes`).
    public var ipBytes: UInt64
    /// Transport payload bytes as the headers state them (TCP segment data, UDP data, ICMP data).
    public var payloadBytes: UInt64
    /// Zeek's `orig_bytes`/`resp_bytes`: TCP sequence-space size (§6.2); UDP and ICMP data bytes.
    public var bytes: UInt64
    /// TCP retransmissions (segments that did not extend the highest sequence seen).
    public var retransmissions: UInt64
    /// TCP packets advertising a zero window.
    public var zeroWindows: UInt64

    /// Creates counters.
    public init(packets: UInt64 = 0, ipBytes: UInt64 = 0, payloadBytes: UInt64 = 0, bytes: UInt64 = 0,
                retransmissions: UInt64 = 0, zeroWindows: UInt64 = 0) {
        self.packets = packets
        self.ipBytes = ipBytes
        self.payloadBytes = payloadBytes
        self.bytes = bytes
        self.retransmissions = retransmissions
        self.zeroWindows = zeroWindows
    }
}

/// A connection as a plain `Sendable` value: everything Zeek's conn.log row says,
/// plus the kernel-style TCP state and FlowTrack's own counters.
public struct Connection: Sendable, Hashable {
    /// A unique id in Zeek's style (`C` + base62).
    public var uid: String
    /// Time of the first packet.
    public var startTime: Timestamp
    /// Time of the last packet that counted (Zeek's `last_time`).
    public var lastTime: Timestamp
    /// The originator's endpoint (after any flips).
    public var originator: Endpoint
    /// The responder's endpoint.
    public var responder: Endpoint
    /// Zeek's `proto`.
    public var transport: TransportProtocol
    /// The service the server port is registered for (port-based, not payload-based); `nil` when none.
    public var service: String?
    /// The server's endpoint: the socket the connection was opened to (see ``Services``).
    public var server: Endpoint
    /// The client's endpoint.
    public var client: Endpoint
    /// The tracker's number for this connection, unique within a run (the uid is derived from it).
    public var id: UInt64
    /// The IP protocol number.
    public var ipProtocol: UInt8
    /// Zeek's `conn_state`.
    public var connState: ConnState
    /// Zeek's `history` (empty when there is none).
    public var history: String
    /// The Linux-conntrack-style TCP state, for TCP connections (`nil` for others, and
    /// when ``TrackerConfiguration/kernelStates`` is off).
    public var tcpState: TCPState?
    /// Zeek's endpoint states, for TCP connections.
    public var originatorState: EndpointState?
    /// Zeek's endpoint states, for TCP connections.
    public var responderState: EndpointState?
    /// The originator's counters.
    public var originatorCounters: DirectionCounters
    /// The responder's counters.
    public var responderCounters: DirectionCounters
    /// Bytes in content gaps (data acknowledged but never captured).
    public var missedBytes: UInt64
    /// Whether the originator is in the local networks (`nil` when none are configured).
    public var localOriginator: Bool?
    /// Whether the responder is in the local networks.
    public var localResponder: Bool?
    /// The Community ID v1 string.
    public var communityID: String
    /// Why it ended, once it has.
    public var endReason: EndReason?
    /// The uids of the tunnels the connection came through (Zeek's `tunnel_parents`): the
    /// innermost tunnel of its first tunnelled packet, then of every change of tunnels (up
    /// to five). A UDP tunnel's uid is its carrying connection's; an IP-level tunnel's
    /// (IP-in-IP, GRE) is its own. Empty for connections never seen in a tunnel.
    public var tunnelParents: [String] = []
    /// The innermost tunnel the connection was last seen in, if any.
    public var tunnel: TunnelKind?
    /// Whether the kernel would have marked the entry ASSURED (`[ASSURED]` in `conntrack -L`:
    /// a reply was seen and the handshake completed); `nil` unless kernel states are followed.
    public var kernelAssured: Bool?
    /// The timeout, in seconds, the kernel set at the last packet that refreshed the entry
    /// (the state's, or RETRANS/UNACK 300 s, CLOSE 10 s); `nil` unless kernel states are followed.
    public var kernelTimeout: Int?
    /// The outer VLAN ID of the packet that created the connection, when VLANs are
    /// recorded (``TrackerConfiguration/recordVLANs`` or ``TrackerConfiguration/vlanInKey``)
    /// and it had a tag; Zeek's `vlan` (vlan-logging) and `id.ctx.vlan` (VLAN key).
    public var vlan: UInt16?
    /// The inner (second) VLAN ID of the creating packet, under the same conditions; Zeek's `inner_vlan`.
    public var innerVLAN: UInt16?
    /// The originator's link-layer address, from the packet that created the connection
    /// (its source or, when the connection was turned around, its destination), when
    /// ``TrackerConfiguration/recordL2Addresses`` is on and the address is not all zero;
    /// Zeek's `orig_l2_addr` (mac-logging).
    public var originatorL2Address: MACAddress?
    /// The responder's link-layer address, likewise; Zeek's `resp_l2_addr`.
    public var responderL2Address: MACAddress?

    /// `lastTime − startTime` (Zeek's `duration`).
    public var duration: Duration { lastTime - startTime }

    /// Creates a record (used by the tracker and by tests).
    public init(uid: String, startTime: Timestamp, lastTime: Timestamp, originator: Endpoint, responder: Endpoint,
                transport: TransportProtocol, ipProtocol: UInt8, connState: ConnState, history: String,
                tcpState: TCPState?, originatorState: EndpointState?, responderState: EndpointState?,
                originatorCounters: DirectionCounters, responderCounters: DirectionCounters, missedBytes: UInt64,
                localOriginator: Bool?, localResponder: Bool?, communityID: String, endReason: EndReason?) {
        self.uid = uid
        self.startTime = startTime
        self.lastTime = lastTime
        self.originator = originator
        self.responder = responder
        self.transport = transport
        self.service = nil
        self.server = responder
        self.client = originator
        self.id = 0
        self.ipProtocol = ipProtocol
        self.connState = connState
        self.history = history
        self.tcpState = tcpState
        self.originatorState = originatorState
        self.responderState = responderState
        self.originatorCounters = originatorCounters
        self.responderCounters = responderCounters
        self.missedBytes = missedBytes
        self.localOriginator = localOriginator
        self.localResponder = localResponder
        self.communityID = communityID
        self.endReason = endReason
    }
}

/// What the tracker reports about connections.
public enum ConnectionEvent: Sendable {
    /// A new connection (its first packet has been processed).
    case started(Connection)
    /// The kernel-style TCP state or the Zeek `conn_state` changed.
    case stateChanged(Connection)
    /// The connection was removed; the record is final and `endReason` is set.
    case ended(Connection)

    /// The connection the event is about.
    public var connection: Connection {
        switch self {
        case let .started(c), let .stateChanged(c), let .ended(c): return c
        }
    }
}

/// Which events a tracker should build (each costs a record per event).
public struct EventKinds: OptionSet, Sendable {
    /// The bit pattern.
    public var rawValue: UInt8
    /// Creates a set from its bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// ``ConnectionEvent/started(_:)``.
    public static let started = EventKinds(rawValue: 1)
    /// ``ConnectionEvent/stateChanged(_:)``.
    public static let stateChanged = EventKinds(rawValue: 2)
    /// ``ConnectionEvent/ended(_:)``.
    public static let ended = EventKinds(rawValue: 4)
    /// All three.
    public static let all: EventKinds = [.started, .stateChanged, .ended]
}
