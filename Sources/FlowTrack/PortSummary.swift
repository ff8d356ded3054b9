/// What became of a connection, for per-port summaries.
public enum Outcome: String, Sendable, CaseIterable {
    /// The handshake completed and the connection was not fully closed (S1, S2, S3; UDP SF).
    case established
    /// Both sides closed with FIN (SF).
    case closed
    /// The server answered the SYN with a RST (REJ).
    case rejected
    /// Reset after or during the handshake (RSTO, RSTR, RSTOS0, RSTRH).
    case reset
    /// One side opened and closed without the other's handshake (SH, SHR; UDP SHR).
    case halfOpen = "half_open"
    /// A SYN (or a datagram) that nobody answered (S0).
    case attempt
    /// Anything else: midstream traffic, ICMP, other protocols (OTH).
    case other

    /// The outcome of a connection, from its protocol and `conn_state`.
    public init(_ c: Connection) {
        switch (c.transport, c.connState) {
        case (.udp, .sf): self = .established
        case (_, .s1), (_, .s2), (_, .s3): self = .established
        case (_, .sf): self = .closed
        case (_, .rej): self = .rejected
        case (_, .rsto), (_, .rstr), (_, .rstos0), (_, .rstrh): self = .reset
        case (_, .sh), (_, .shr): self = .halfOpen
        case (_, .s0): self = .attempt
        default: self = .other
        }
    }
}

/// One server port's totals: the `flowtrack ports` view.
public struct PortTotals: Sendable, Equatable {
    /// The transport.
    public var transport: TransportProtocol
    /// The server port (ICMP: the type).
    public var port: UInt16
    /// The registered service name, if any.
    public var service: String?
    /// Connections to the port.
    public var connections = 0
    /// Connections per outcome.
    public var outcomes: [Outcome: Int] = [:]
    /// Distinct client addresses.
    public var clients = 0
    /// Application bytes (Zeek's orig/resp bytes semantics) from clients to the server.
    public var bytesToServer: UInt64 = 0
    /// Application bytes from the server to clients.
    public var bytesFromServer: UInt64 = 0
    /// Packets from clients to the server.
    public var packetsToServer: UInt64 = 0
    /// Packets from the server to clients.
    public var packetsFromServer: UInt64 = 0
}

/// Accumulates connections into per-server-port totals.
public struct PortSummary: Sendable {
    struct Key: Hashable { var transport: UInt8; var port: UInt16 }
    var totals: [Key: PortTotals] = [:]
    var clients: [Key: Set<IPAddress>] = [:]

    /// An empty summary.
    public init() {}

    /// Adds one ended connection.
    public mutating func add(_ c: Connection) {
        let key = Key(transport: c.transport.rawValue, port: c.server.port)
        var t = totals[key] ?? PortTotals(transport: c.transport, port: c.server.port, service: c.service)
        t.connections += 1
        t.outcomes[Outcome(c), default: 0] += 1
        let clientIsOrig = c.client == c.originator
        let up = clientIsOrig ? c.originatorCounters : c.responderCounters
        let down = clientIsOrig ? c.responderCounters : c.originatorCounters
        t.bytesToServer &+= up.bytes
        t.bytesFromServer &+= down.bytes
        t.packetsToServer &+= up.packets
        t.packetsFromServer &+= down.packets
        clients[key, default: []].insert(c.client.address)
        t.clients = clients[key]!.count
        totals[key] = t
    }

    /// The totals, busiest port first (then by protocol and port).
    public var rows: [PortTotals] {
        totals.values.sorted {
            ($0.connections, UInt8.max - $0.transport.rawValue, UInt16.max - $0.port)
                > ($1.connections, UInt8.max - $1.transport.rawValue, UInt16.max - $1.port)
        }
    }

    static let names: [FieldName] = [.proto, .port, .service, .connections, .established, .closed, .rejected, .reset,
                                     .halfOpen, .attempt, .other, .clients, .bytesToServer, .bytesFromServer,
                                     .packetsToServer, .packetsFromServer]

    /// The UTF-8 bytes of the text fields ``write(_:to:_:)`` writes.
    func textBytes(_ t: PortTotals) -> Int { t.transport.description.utf8.count + (t.service?.utf8.count ?? 0) }

    func write(_ t: PortTotals, to w: inout some FieldWriter, _ out: inout OutputSpan<UInt8>) {
        w.text(Self.names[0], t.transport.description, &out)
        w.count(Self.names[1], UInt64(t.port), &out)
        if let s = t.service { w.text(Self.names[2], s, &out) } else { w.unset(Self.names[2], &out) }
        w.count(Self.names[3], UInt64(t.connections), &out)
        for (name, outcome) in zip(Self.names[4...10], Outcome.allCases) { w.count(name, UInt64(t.outcomes[outcome, default: 0]), &out) }
        w.count(Self.names[11], UInt64(t.clients), &out)
        w.count(Self.names[12], t.bytesToServer, &out)
        w.count(Self.names[13], t.bytesFromServer, &out)
        w.count(Self.names[14], t.packetsToServer, &out)
        w.count(Self.names[15], t.packetsFromServer, &out)
    }

    /// The summary in one of the output formats.
    public func render(_ format: ConnectionFormat, opened: String = "", closed: String = "") -> String {
        let names = Self.names.map(\.text)
        var bytes: [UInt8] = []
        switch format {
        case .table:
            var cells = [["Proto", "Port", "Service", "Conns", "Estab", "Closed", "Rejected", "Reset", "HalfOpen", "Attempt",
                          "Other", "Clients", "Bytes>", "Bytes<"]]
            for t in rows {
                cells.append([t.transport.description, String(t.port), t.service.map(Escaping.terminal) ?? "-", String(t.connections)]
                    + Outcome.allCases.map { String(t.outcomes[$0, default: 0]) }
                    + [String(t.clients), String(t.bytesToServer), String(t.bytesFromServer)])
            }
            var widths = [Int](repeating: 0, count: cells[0].count)
            for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
            return cells.map { row in
                row.enumerated().map { i, c in
                    let pad = String(repeating: " ", count: widths[i] - c.count)
                    return i >= 3 || i == 1 ? pad + c : c + pad
                }.joined(separator: "  ").trimmingTrailingSpaces()
            }.joined(separator: "\n") + "\n"
        case .zeek:
            var s = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tports\n#open\t\(opened)\n"
            s += "#fields\t" + names.joined(separator: "\t") + "\n"
            s += "#types\tenum\tport\tstring" + String(repeating: "\tcount", count: names.count - 3) + "\n"
            bytes += s.utf8
            for t in rows {
                ZeekFields.appendRow(to: &bytes, textBytes: textBytes(t)) { w, out in write(t, to: &w, &out) }
                bytes.append(10)
            }
            bytes += "#close\t\(closed)\n".utf8
        case .json:
            for t in rows {
                JSONFields.appendRow(to: &bytes, textBytes: textBytes(t)) { w, out in write(t, to: &w, &out) }
                bytes += [125, 10]
            }
        case .csv:
            bytes += (names.joined(separator: ",") + "\r\n").utf8
            for t in rows {
                CSVFields.appendRow(to: &bytes, textBytes: textBytes(t)) { w, out in write(t, to: &w, &out) }
                bytes += [13, 10]
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
