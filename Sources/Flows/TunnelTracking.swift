/// What the tracker knows of an inner connection's tunnels (Docs/Encapsulation.md §3.2).
struct TunnelMembership {
    /// The uid numbers of the tunnels in `tunnel_parents`, in the order they were met.
    var parents: [UInt64] = []
    /// Identifies the last stack of tunnels (a change adds the new innermost tunnel).
    var signature: UInt64 = 0
    /// Changes seen (Zeek stops adding after `Tunnel::max_changes_per_connection` = 5).
    var changes: UInt8 = 0
    /// The innermost tunnel's kind, for displays.
    var kind: TunnelKind = .ip
}

/// An IP-level tunnel (IP-in-IP, GRE) by its unordered pair of outer addresses.
struct IPTunnel {
    var id: UInt64
    var lastSeen: Int64
    /// The outer addresses of the packet that made the tunnel known (its tunnel.log id).
    var source: IPAddress
    var destination: IPAddress
}

/// A tunnel in tunnel.log's active set (`Tunnel::active`).
struct ActiveTunnel {
    var lastTouched: Int64
    var kind: TunnelKind
    var originator: Endpoint
    var responder: Endpoint
}

/// A UDP connection that carries a tunnel: which, and whether it is confirmed.
struct TunnelCarrier {
    var kind: TunnelKind
    var confirmed = false
    /// The tunnel analyzer recorded a violation: nothing more is decapsulated from it.
    var violated = false
    /// Teredo is confirmed once both sides sent a valid packet.
    var validFromA = false
    var validFromB = false
}

extension ConnectionTable {
    /// `Tunnel::ip_tunnel_timeout`: an IP-level tunnel idle this long gets a new uid.
    static let ipTunnelTimeout: Int64 = 24 * 3600 * 1_000_000_000
    /// `Tunnel::max_changes_per_connection`.
    static let maxTunnelChanges: UInt8 = 5
    /// The signature of an empty stack: the connection's last packet came untunnelled.
    static let untunnelledSignature: UInt64 = 0
    /// IP-level tunnel uids live above every connection number.
    static let ipTunnelIDBase: UInt64 = 1 << 62
    /// The IP-level tunnel table is cleared when it holds this many tunnels (a bound under attack).
    static let ipTunnelLimit = 1 << 16

    /// Processes a packet that came through `tunnels` (outermost first): each carrying UDP
    /// connection is tracked as a packet of its own (its conn.log row, and its `service`
    /// once the tunnel is confirmed), IP-level tunnels get a uid by their outer address
    /// pair, and the inner connection records the innermost tunnel in `tunnel_parents`.
    public mutating func process(_ p: DecodedPacket, tunnels: TunnelStack, at time: Timestamp, _ emit: (ConnectionEvent) -> Void) {
        guard p.tunnelDepth > 0, tunnels.count > 0 else { return process(p, at: time, emit) }
        advance(to: time, emit)  // network time first: the tunnel table reads it
        var innermost: UInt64 = 0, signature: UInt64 = 0x9E37_79B9_7F4A_7C15
        var carrier: UInt64?
        var ids = InlineArray<4, UInt64>(repeating: 0)
        for i in 0..<tunnels.count {
            let layer = tunnels[i]
            var id: UInt64
            if layer.overUDP {
                track(layer.outerPacket, at: time, frame: false, emit)
                carrier = lastConnectionID
                if let outer = lastConnectionID, let e = lastEntry {
                    // Zeek decapsulates by the carrying connection's responder port (after its
                    // flips), and no more once the tunnel's analyzer recorded a violation.
                    guard Self.responderPortCarries(layer, table.key(at: e), origIsA: table[e].origIsA),
                          tunnelCarriers[outer]?.violated != true else {
                        statistics.packets += 1  // the frame counts; its inner packet is not Zeek's
                        lastCarrierConnectionID = outer  // lastConnectionID is the carrier's too
                        return
                    }
                    noteCarrier(outer, entry: e, layer)
                    id = outer
                } else {
                    id = 0
                }
                if layer.kind == .gre { id = ipTunnelID(layer) }
            } else {
                id = ipTunnelID(layer)
            }
            signature = (signature ^ id) &* 0xBF58_476D_1CE4_E5B9
            innermost = id
            ids[i] = id
        }
        statistics.tunnelled += 1
        track(p, at: time, frame: true, emit)
        lastCarrierConnectionID = carrier
        // The innermost packet may itself carry a tunnel that broke its protocol or lies too deep.
        if !p.anomalies.isDisjoint(with: Self.carrierAnomalies) { noteCarrierAnomalies(p) }
        guard let inner = lastConnectionID, let e = lastEntry, innermost != 0 else { return }
        var m = tunnelMembers[inner] ?? TunnelMembership()
        if configuration.tunnelLog, m.parents.isEmpty || m.signature != signature {
            // tunnel.log: a new inner connection, or a change of tunnels, discovers every tunnel of its stack.
            for i in 0..<tunnels.count where ids[i] != 0 { touchTunnel(ids[i], tunnels[i]) }
        }
        if m.parents.isEmpty || m.signature == Self.untunnelledSignature {
            // The first tunnel, or one after untunnelled packets: Zeek's `tunnel_changed`
            // from an empty stack, which `Tunnel::max_changes_per_connection` does not limit.
            if !m.parents.contains(innermost) { m.parents.append(innermost) }
            m.signature = signature
            m.kind = tunnels[tunnels.count - 1].kind
        } else if m.signature != signature {
            m.signature = signature
            m.changes &+= m.changes == .max ? 0 : 1
            if m.changes <= Self.maxTunnelChanges {
                if !m.parents.contains(innermost) { m.parents.append(innermost) }
                m.kind = tunnels[tunnels.count - 1].kind
            } else if m.changes == Self.maxTunnelChanges + 1 {
                markViolation(entry: e)
            }
        }
        tunnelMembers[inner] = m
    }

    /// Adds history `X` to the connection at entry `e` (once).
    mutating func markViolation(entry e: Int) {
        var c = table[e]
        _ = c.checkHistory(HistoryBit.violation, UInt8(ascii: "X"), isOrig: true)
        if c.history.spill != 0 { spill(&c) }
        table[e] = c
    }

    /// An untunnelled packet of a connection that came through tunnels: Zeek raises
    /// `tunnel_changed` with an empty stack (no parent added, no change counted), so the next
    /// tunnelled packet adds its tunnel again whatever the count of changes.
    mutating func noteUntunnelled() {
        guard let inner = lastConnectionID, let m = tunnelMembers[inner], m.signature != Self.untunnelledSignature else { return }
        tunnelMembers[inner]?.signature = Self.untunnelledSignature
    }

    /// The uid number of the IP-level tunnel between a layer's outer addresses.
    mutating func ipTunnelID(_ layer: TunnelLayer) -> UInt64 {
        let key = FlowKey(ipProtocol: 0, source: Endpoint(layer.source, 0), destination: Endpoint(layer.destination, 0))
        if let known = ipTunnels[key], now &- known.lastSeen < Self.ipTunnelTimeout {
            ipTunnels[key]?.lastSeen = now
            return known.id
        }
        if ipTunnels.count >= Self.ipTunnelLimit { ipTunnels.removeAll(keepingCapacity: true) }
        let id: UInt64
        if ordinal != 0 {
            id = Self.ipTunnelIDBase | newSerial()  // from the packet's position, as connections
        } else {
            nextTunnelSerial += 1
            id = Self.ipTunnelIDBase | nextTunnelSerial
        }
        ipTunnels[key] = IPTunnel(id: id, lastSeen: now, source: layer.source, destination: layer.destination)
        return id
    }

    /// Whether the carrying connection's responder port is one Zeek decapsulates this tunnel
    /// on (Teredo and AYIYA are also recognised by their payload on any port).
    static func responderPortCarries(_ layer: TunnelLayer, _ key: FlowKey, origIsA: Bool) -> Bool {
        let port = origIsA ? key.b.port : key.a.port
        switch layer.kind {
        case .vxlan: return port == 4789
        case .geneve: return port == 6081
        case .gtpv1: return port == 2152 || port == 2123
        case .capwap: return port == 5247
        case .gre: return port == 4754
        case .teredo, .ayiya, .ip: return true
        }
    }

    /// A UDP packet whose tunnel header broke its protocol: its connection decapsulates no more
    /// (VXLAN, Geneve, Teredo, AYIYA; GTP keeps going).
    mutating func noteViolation(_ p: DecodedPacket) {
        guard let serial = lastConnectionID, p.layers.contains(.udp) else { return }
        let kind: TunnelKind
        switch (p.sourcePort, p.destinationPort) {
        case (4789, _), (_, 4789): kind = .vxlan
        case (6081, _), (_, 6081): kind = .geneve
        case (3544, _), (_, 3544): kind = .teredo
        default: kind = .ayiya
        }
        var carrier = tunnelCarriers[serial] ?? TunnelCarrier(kind: kind)
        carrier.violated = true
        tunnelCarriers[serial] = carrier
    }

    /// What the decoder says of a tunnel the last packet carries but did not decapsulate.
    static let carrierAnomalies: Anomalies = [.tunnelViolation, .tunnelTooDeep, .tunnelConfirmedOnly]

    /// Records, for the last packet's connection as a tunnel carrier, a violation (no more
    /// decapsulation), a tunnel past the depth limit (history `X`) or a confirmation without
    /// decapsulation: the same for an untunnelled packet and for the innermost of a tunnelled one.
    mutating func noteCarrierAnomalies(_ p: DecodedPacket) {
        if p.anomalies.contains(.tunnelViolation) { noteViolation(p) }
        if p.anomalies.contains(.tunnelTooDeep), let e = lastEntry { markViolation(entry: e) }
        if p.anomalies.contains(.tunnelConfirmedOnly) { noteConfirmedOnly() }
    }

    /// The last packet's AYIYA header was confirmed though nothing inside it was decapsulated.
    mutating func noteConfirmedOnly() {
        guard let serial = lastConnectionID else { return }
        var carrier = tunnelCarriers[serial] ?? TunnelCarrier(kind: .ayiya)
        guard !carrier.violated, carrier.kind == .ayiya else { return }
        carrier.confirmed = true
        tunnelCarriers[serial] = carrier
    }

    /// Records that connection `serial` carries a tunnel, confirming it by the tunnel's rule.
    mutating func noteCarrier(_ serial: UInt64, entry e: Int, _ layer: TunnelLayer) {
        guard layer.kind != .gre else { return }  // GRE in UDP never sets a service
        var carrier = tunnelCarriers[serial] ?? TunnelCarrier(kind: layer.kind)
        if layer.confirmed {
            let key = table.key(at: e)
            let fromA = key.isFromA(source: layer.source, port: layer.sourcePort)
            if fromA { carrier.validFromA = true } else { carrier.validFromB = true }
            carrier.confirmed = carrier.confirmed || layer.kind != .teredo || (carrier.validFromA && carrier.validFromB)
        }
        tunnelCarriers[serial] = carrier
    }
}

/// A line of Zeek's tunnel.log (Docs/Encapsulation.md §3.4).
public struct TunnelRecord: Sendable, Hashable {
    /// What happened to the tunnel.
    public enum Action: String, Sendable, Hashable {
        /// An inner connection (or a change of tunnels) first used it.
        case discover = "Tunnel::DISCOVER"
        /// Its carrying UDP connection ended.
        case close = "Tunnel::CLOSE"
        /// No inner connection used it for an hour (`Tunnel::expiration_interval`).
        case expire = "Tunnel::EXPIRE"
    }

    /// When (network time).
    public var timestamp: Timestamp
    /// The tunnel's uid: its carrying connection's for UDP tunnels, its own for IP-level ones.
    public var uid: String
    /// The tunnel's endpoints: the carrying connection's, or the outer addresses with port 0.
    public var originator: Endpoint
    /// The other endpoint.
    public var responder: Endpoint
    /// The tunnel's kind.
    public var kind: TunnelKind
    /// The action.
    public var action: Action
}

extension ConnectionTable {
    /// `Tunnel::expiration_interval`.
    static let tunnelExpiration: Int64 = 3600 * 1_000_000_000

    /// Marks tunnel `id` as used now, logging DISCOVER when it was not active.
    mutating func touchTunnel(_ id: UInt64, _ layer: TunnelLayer) {
        if activeTunnels[id] != nil {
            activeTunnels[id]?.lastTouched = now
            return
        }
        var originator = Endpoint(layer.source, 0), responder = Endpoint(layer.destination, 0)
        if id >= Self.ipTunnelIDBase {
            let key = FlowKey(ipProtocol: 0, source: originator, destination: responder)
            if let known = ipTunnels[key] { originator = Endpoint(known.source, 0); responder = Endpoint(known.destination, 0) }
        } else if let e = table.find(FlowKey(ipProtocol: 17, source: Endpoint(layer.source, layer.sourcePort),
                                              destination: Endpoint(layer.destination, layer.destinationPort))) {
            let key = table.key(at: e)
            (originator, responder) = table[e].origIsA ? (key.a, key.b) : (key.b, key.a)
        }
        let kind = layer.overUDP && layer.kind == .gre ? TunnelKind.gre : layer.kind
        activeTunnels[id] = ActiveTunnel(lastTouched: now, kind: kind, originator: originator, responder: responder)
        tunnelRecords.append(TunnelRecord(timestamp: Timestamp(nanoseconds: now), uid: uid(id), originator: originator,
                                          responder: responder, kind: kind, action: .discover))
    }

    /// tunnel.log's CLOSE for a UDP connection that carried an active tunnel.
    mutating func closeTunnel(_ serial: UInt64) {
        guard let t = activeTunnels.removeValue(forKey: serial) else { return }
        tunnelRecords.append(TunnelRecord(timestamp: Timestamp(nanoseconds: now), uid: uid(serial), originator: t.originator,
                                          responder: t.responder, kind: t.kind, action: .close))
    }

    /// tunnel.log's EXPIRE sweep, every 10 s of network time (`table_expire_interval`).
    mutating func expireTunnels() {
        guard lastTunnelSweep == .min || now &- lastTunnelSweep >= 10_000_000_000 else { return }
        lastTunnelSweep = now
        for (id, t) in activeTunnels where now &- t.lastTouched > Self.tunnelExpiration {
            activeTunnels[id] = nil
            tunnelRecords.append(TunnelRecord(timestamp: Timestamp(nanoseconds: now), uid: uid(id), originator: t.originator,
                                              responder: t.responder, kind: t.kind, action: .expire))
        }
    }

    /// The tunnel.log lines recorded since the last call (``TrackerConfiguration/tunnelLog``).
    public mutating func takeTunnelRecords() -> [TunnelRecord] {
        defer { tunnelRecords.removeAll(keepingCapacity: true) }
        return tunnelRecords
    }
}
