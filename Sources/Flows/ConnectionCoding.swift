import Packets

extension Connection: Identifiable, CustomStringConvertible {
    /// One line, as `netstat` would show the socket pair, with Zeek's state and history:
    /// `CHhAvVGS1DHFjwGM9 tcp 192.0.2.1:49152 → 192.0.2.2:80 SF ShADadFf 6/4 pkts`.
    public var description: String {
        var text = "\(uid) \(transport) \(originator) → \(responder) \(connState)"
        if !history.isEmpty { text += " \(history)" }
        return text + " \(originatorCounters.packets)/\(responderCounters.packets) pkts"
    }
}

/// Codable with the field names of FlowTrack's JSON output (`flowtrack conn --format json`,
/// Zeek's conn.log names plus FlowTrack's own), so a line of that output decodes into a
/// ``Connection`` and an encoded connection reads like one. Fields the output leaves out
/// decode to their defaults. What the output does not carry is encoded under names of
/// FlowTrack's own (`ts_ns` and `last_ts_ns`, the exact times in nanoseconds; `flowtrack_id`;
/// `orig_bytes` and `resp_bytes` also when the duration is 0;
/// `orig_state` and `resp_state`; `orig_zero_windows` and `resp_zero_windows`; `server`,
/// `orig` or `resp`; `tunnel`; `kernel_assured`, `kernel_timeout`), so encoding then decoding
/// gives the same value.
extension Connection: Codable {
    enum CodingKeys: String, CodingKey {
        case ts, uid
        case origH = "id.orig_h", origP = "id.orig_p", respH = "id.resp_h", respP = "id.resp_p"
        case proto, service, duration
        case origBytes = "orig_bytes", respBytes = "resp_bytes", connState = "conn_state"
        case localOrig = "local_orig", localResp = "local_resp", missedBytes = "missed_bytes", history
        case origPkts = "orig_pkts", origIPBytes = "orig_ip_bytes", respPkts = "resp_pkts", respIPBytes = "resp_ip_bytes"
        case tunnelParents = "tunnel_parents", ipProto = "ip_proto", communityID = "community_id"
        case origL2Addr = "orig_l2_addr", respL2Addr = "resp_l2_addr", vlan, innerVLAN = "inner_vlan"
        case tcpState = "tcp_state", endReason = "end_reason"
        case origPayloadBytes = "orig_payload_bytes", respPayloadBytes = "resp_payload_bytes"
        case origRetransmissions = "orig_retransmissions", respRetransmissions = "resp_retransmissions"
        // FlowTrack's own, for an exact round trip.
        case tsNanoseconds = "ts_ns", lastNanoseconds = "last_ts_ns", flowTrackID = "flowtrack_id"
        case origState = "orig_state", respState = "resp_state"
        case origZeroWindows = "orig_zero_windows", respZeroWindows = "resp_zero_windows"
        case server, tunnel, kernelAssured = "kernel_assured", kernelTimeout = "kernel_timeout"
    }

    /// Encodes the connection under its JSON output's field names (see the extension's note).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let duration = lastTime.nanoseconds - startTime.nanoseconds
        try c.encode(Double(startTime.nanoseconds) / 1e9, forKey: .ts)
        try c.encode(uid, forKey: .uid)
        try c.encode(originator.address.description, forKey: .origH)
        try c.encode(originator.port, forKey: .origP)
        try c.encode(responder.address.description, forKey: .respH)
        try c.encode(responder.port, forKey: .respP)
        try c.encode(transport.description, forKey: .proto)
        try c.encodeIfPresent(service, forKey: .service)
        if duration > 0 { try c.encode(Double(duration) / 1e9, forKey: .duration) }
        // Always (the output leaves them unset with the duration): the exact counts.
        try c.encode(originatorCounters.bytes, forKey: .origBytes)
        try c.encode(responderCounters.bytes, forKey: .respBytes)
        try c.encode(connState.description, forKey: .connState)
        try c.encodeIfPresent(localOriginator, forKey: .localOrig)
        try c.encodeIfPresent(localResponder, forKey: .localResp)
        try c.encode(missedBytes, forKey: .missedBytes)
        if !history.isEmpty { try c.encode(history, forKey: .history) }
        try c.encode(originatorCounters.packets, forKey: .origPkts)
        try c.encode(originatorCounters.ipBytes, forKey: .origIPBytes)
        try c.encode(responderCounters.packets, forKey: .respPkts)
        try c.encode(responderCounters.ipBytes, forKey: .respIPBytes)
        if !tunnelParents.isEmpty { try c.encode(tunnelParents, forKey: .tunnelParents) }
        try c.encode(ipProtocol, forKey: .ipProto)
        if !communityID.isEmpty { try c.encode(communityID, forKey: .communityID) }
        try c.encodeIfPresent(originatorL2Address?.description, forKey: .origL2Addr)
        try c.encodeIfPresent(responderL2Address?.description, forKey: .respL2Addr)
        try c.encodeIfPresent(vlan, forKey: .vlan)
        try c.encodeIfPresent(innerVLAN, forKey: .innerVLAN)
        try c.encodeIfPresent(tcpState?.description, forKey: .tcpState)
        try c.encodeIfPresent(endReason?.description, forKey: .endReason)
        try c.encode(originatorCounters.payloadBytes, forKey: .origPayloadBytes)
        try c.encode(responderCounters.payloadBytes, forKey: .respPayloadBytes)
        try c.encode(originatorCounters.retransmissions, forKey: .origRetransmissions)
        try c.encode(responderCounters.retransmissions, forKey: .respRetransmissions)
        try c.encode(startTime.nanoseconds, forKey: .tsNanoseconds)
        try c.encode(lastTime.nanoseconds, forKey: .lastNanoseconds)
        try c.encode(id, forKey: .flowTrackID)
        try c.encodeIfPresent(originatorState?.description, forKey: .origState)
        try c.encodeIfPresent(responderState?.description, forKey: .respState)
        try c.encode(originatorCounters.zeroWindows, forKey: .origZeroWindows)
        try c.encode(responderCounters.zeroWindows, forKey: .respZeroWindows)
        try c.encode(server == originator && server != responder ? "orig" : "resp", forKey: .server)
        try c.encodeIfPresent(tunnel.map { String(describing: $0) }, forKey: .tunnel)
        try c.encodeIfPresent(kernelAssured, forKey: .kernelAssured)
        try c.encodeIfPresent(kernelTimeout, forKey: .kernelTimeout)
    }

    /// Decodes a connection from a line of FlowTrack's JSON output or from ``encode(to:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func named<T: CaseIterable & CustomStringConvertible>(_ type: T.Type, _ key: CodingKeys) throws -> T? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let value = T.allCases.first(where: { $0.description == text }) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "unknown \(T.self) '\(text)'")
            }
            return value
        }
        func address(_ key: CodingKeys) throws -> IPAddress {
            let text = try c.decode(String.self, forKey: key)
            guard let address = IPAddress(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an IP address: '\(text)'")
            }
            return address
        }
        func mac(_ key: CodingKeys) throws -> MACAddress? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let address = MACAddress(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not a MAC address: '\(text)'")
            }
            return address
        }
        func count(_ key: CodingKeys) throws -> UInt64 { try c.decodeIfPresent(UInt64.self, forKey: key) ?? 0 }

        let start: Timestamp
        if let ns = try c.decodeIfPresent(Int64.self, forKey: .tsNanoseconds) {
            start = Timestamp(nanoseconds: ns)
        } else {
            start = Timestamp(nanoseconds: Int64((try c.decode(Double.self, forKey: .ts) * 1e6).rounded()) * 1000)
        }
        let last: Timestamp
        if let ns = try c.decodeIfPresent(Int64.self, forKey: .lastNanoseconds) {
            last = Timestamp(nanoseconds: ns)
        } else if let seconds = try c.decodeIfPresent(Double.self, forKey: .duration) {
            last = Timestamp(nanoseconds: start.nanoseconds + Int64((seconds * 1e6).rounded()) * 1000)
        } else {
            last = start
        }
        let originator = Endpoint(try address(.origH), try c.decode(UInt16.self, forKey: .origP))
        let responder = Endpoint(try address(.respH), try c.decode(UInt16.self, forKey: .respP))
        guard let transport = try named(TransportProtocol.self, .proto) else {
            throw DecodingError.keyNotFound(CodingKeys.proto, .init(codingPath: c.codingPath, debugDescription: "no proto"))
        }
        let ipProtocol = try c.decodeIfPresent(UInt8.self, forKey: .ipProto)
            ?? (transport == .tcp ? 6 : transport == .udp ? 17 : transport == .icmp ? (originator.address.isIPv4 ? 1 : 58) : 0)
        let originatorCounters = DirectionCounters(
            packets: try count(.origPkts), ipBytes: try count(.origIPBytes), payloadBytes: try count(.origPayloadBytes),
            bytes: try count(.origBytes), retransmissions: try count(.origRetransmissions), zeroWindows: try count(.origZeroWindows))
        let responderCounters = DirectionCounters(
            packets: try count(.respPkts), ipBytes: try count(.respIPBytes), payloadBytes: try count(.respPayloadBytes),
            bytes: try count(.respBytes), retransmissions: try count(.respRetransmissions), zeroWindows: try count(.respZeroWindows))
        self.init(uid: try c.decode(String.self, forKey: .uid), startTime: start, lastTime: last,
                  originator: originator, responder: responder, transport: transport, ipProtocol: ipProtocol,
                  connState: try named(ConnState.self, .connState) ?? .oth,
                  history: try c.decodeIfPresent(String.self, forKey: .history) ?? "",
                  tcpState: try named(TCPState.self, .tcpState),
                  originatorState: try named(EndpointState.self, .origState),
                  responderState: try named(EndpointState.self, .respState),
                  originatorCounters: originatorCounters, responderCounters: responderCounters,
                  missedBytes: try count(.missedBytes),
                  localOriginator: try c.decodeIfPresent(Bool.self, forKey: .localOrig),
                  localResponder: try c.decodeIfPresent(Bool.self, forKey: .localResp),
                  communityID: try c.decodeIfPresent(String.self, forKey: .communityID) ?? "",
                  endReason: try named(EndReason.self, .endReason))
        service = try c.decodeIfPresent(String.self, forKey: .service)
        if try c.decodeIfPresent(String.self, forKey: .server) == "orig" {
            server = originator
            client = responder
        }
        id = try c.decodeIfPresent(UInt64.self, forKey: .flowTrackID) ?? 0
        tunnelParents = try c.decodeIfPresent([String].self, forKey: .tunnelParents) ?? []
        tunnel = try named(TunnelKind.self, .tunnel)
        kernelAssured = try c.decodeIfPresent(Bool.self, forKey: .kernelAssured)
        kernelTimeout = try c.decodeIfPresent(Int.self, forKey: .kernelTimeout)
        vlan = try c.decodeIfPresent(UInt16.self, forKey: .vlan)
        innerVLAN = try c.decodeIfPresent(UInt16.self, forKey: .innerVLAN)
        originatorL2Address = try mac(.origL2Addr)
        responderL2Address = try mac(.respL2Addr)
    }
}
