/// The output formats for connection records.
public enum ConnectionFormat: String, Sendable, CaseIterable {
    /// Aligned columns for people, like `netstat -n`.
    case table
    /// Zeek's ASCII conn.log (TSV with `#` headers).
    case zeek
    /// JSON Lines with Zeek's field names.
    case json
    /// CSV with a header row (RFC 4180).
    case csv
}

/// A conn.log column value: text, a number, or unset.
enum FieldValue {
    case text(String)
    case number(String)
    case bool(Bool)
    case unset
}

/// Writes connection records in Zeek's conn.log layout (ZEEK_SEMANTICS §0).
public struct ConnLogColumns: Sendable {
    /// Whether to add the `community_id` column.
    public var communityID: Bool
    /// Whether to add FlowTrack's own columns (JSON and CSV only): `tcp_state`,
    /// `end_reason`, payload bytes and retransmissions per direction.
    public var extras: Bool

    /// Creates a column set.
    public init(communityID: Bool = false, extras: Bool = true) {
        self.communityID = communityID
        self.extras = extras
    }

    static let zeekNames = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
                            "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
                            "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto"]
    static let zeekTypes = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
                            "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]", "count"]
    static let extraNames = ["tcp_state", "end_reason", "orig_payload_bytes", "resp_payload_bytes", "orig_retransmissions",
                             "resp_retransmissions"]

    /// Column names, in order.
    public func names(zeek: Bool) -> [String] {
        Self.zeekNames + (communityID ? ["community_id"] : []) + (extras && !zeek ? Self.extraNames : [])
    }

    func values(_ c: Connection, zeek: Bool) -> [FieldValue] {
        let hasDuration = c.duration > 0
        let o = c.originatorCounters, r = c.responderCounters
        var v: [FieldValue] = [
            .number(TimeFormat.epochMicros(c.startTime)),
            .text(c.uid),
            .text(c.originator.address.description), .number(String(c.originator.port)),
            .text(c.responder.address.description), .number(String(c.responder.port)),
            .text(c.transport.description),
            .unset,
            hasDuration ? .number(TimeFormat.interval(c.duration)) : .unset,
            hasDuration ? .number(String(o.bytes)) : .unset,
            hasDuration ? .number(String(r.bytes)) : .unset,
            .text(c.connState.description),
            c.localOriginator.map { .bool($0) } ?? .unset,
            c.localResponder.map { .bool($0) } ?? .unset,
            .number(String(c.missedBytes)),
            c.history.isEmpty ? .unset : .text(c.history),
            .number(String(o.packets)), .number(String(o.ipBytes)),
            .number(String(r.packets)), .number(String(r.ipBytes)),
            .unset,
            .number(String(c.ipProtocol)),
        ]
        if communityID { v.append(.text(c.communityID)) }
        if extras && !zeek {
            v += [c.tcpState.map { .text($0.description) } ?? .unset,
                  c.endReason.map { .text($0.description) } ?? .unset,
                  .number(String(o.payloadBytes)), .number(String(r.payloadBytes)),
                  .number(String(o.retransmissions)), .number(String(r.retransmissions))]
        }
        return v
    }
}

/// Zeek ASCII conn.log writer.
public struct ZeekLogWriter: Sendable {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// The header lines; `opened` is the `#open` time as `YYYY-MM-DD-HH-MM-SS`.
    public func header(opened: String) -> String {
        var s = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t\(opened)\n"
        s += "#fields\t" + columns.names(zeek: true).joined(separator: "\t") + "\n"
        s += "#types\t" + (ConnLogColumns.zeekTypes + (columns.communityID ? ["string"] : [])).joined(separator: "\t") + "\n"
        return s
    }

    /// One row.
    public func row(_ c: Connection) -> String {
        columns.values(c, zeek: true).map { value -> String in
            switch value {
            case let .text(t): return Escaping.zeek(t)
            case let .number(n): return n
            case let .bool(b): return b ? "T" : "F"
            case .unset: return "-"
            }
        }.joined(separator: "\t") + "\n"
    }

    /// The closing line.
    public func footer(closed: String) -> String { "#close\t\(closed)\n" }
}

/// JSON Lines writer, one object per connection with Zeek's field names; unset fields are omitted.
public struct JSONLinesWriter: Sendable {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// One line.
    public func row(_ c: Connection) -> String {
        var parts: [String] = []
        for (name, value) in zip(columns.names(zeek: false), columns.values(c, zeek: false)) {
            switch value {
            case let .text(t): parts.append("\"\(name)\":\(Escaping.json(t))")
            case let .number(n): parts.append("\"\(name)\":\(n)")
            case let .bool(b): parts.append("\"\(name)\":\(b)")
            case .unset: continue
            }
        }
        return "{" + parts.joined(separator: ",") + "}\n"
    }
}

/// CSV writer (RFC 4180): a header row, then one row per connection; unset fields are empty.
public struct CSVWriter: Sendable {
    /// The columns.
    public var columns: ConnLogColumns

    /// Creates a writer.
    public init(columns: ConnLogColumns) { self.columns = columns }

    /// The header row.
    public var header: String { columns.names(zeek: false).map(Escaping.csv).joined(separator: ",") + "\r\n" }

    /// One row.
    public func row(_ c: Connection) -> String {
        columns.values(c, zeek: false).map { value -> String in
            switch value {
            case let .text(t): return Escaping.csv(t)
            case let .number(n): return n
            case let .bool(b): return b ? "T" : "F"
            case .unset: return ""
            }
        }.joined(separator: ",") + "\r\n"
    }
}

/// Escaping rules of each format, so no byte from a packet or file name can break a row.
public enum Escaping {
    /// Zeek ASCII: non-printable bytes, the separator and backslash as `\xNN`;
    /// a field that would read as unset or empty is escaped too.
    public static func zeek(_ s: String) -> String {
        if s == "-" { return "\\x2d" }
        if s == "(empty)" { return "\\x28empty)" }
        var out = ""
        for byte in s.utf8 {
            if byte < 0x20 || byte == 0x7F || byte == UInt8(ascii: "\\") || byte >= 0x80 {
                out += "\\x" + hex2(byte)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out
    }

    /// A JSON string literal (RFC 8259 §7).
    public static func json(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u00" + hex2(UInt8(truncatingIfNeeded: scalar.value))
                } else if scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += "\\u" + String(scalar.value, radix: 16)  // line separators break JavaScript consumers
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// An RFC 4180 field: quoted when it holds a comma, quote, CR or LF, with quotes doubled.
    public static func csv(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingAll("\"", with: "\"\"") + "\""
    }

    /// Replaces control characters for a terminal table.
    public static func terminal(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }

    static func hex2(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}

/// The netstat-style table: one row per connection, aligned columns.
public struct ConnectionTable: Sendable {
    /// Creates a table renderer.
    public init() {}

    /// Renders the rows with a header.
    public func render(_ connections: [Connection]) -> String {
        var rows: [[String]] = [["Proto", "Local Address", "Foreign Address", "State", "Zeek", "History", "Pkts>", "Bytes>", "Pkts<", "Bytes<"]]
        for c in connections {
            let state = c.tcpState?.description ?? (c.connState == .SF || c.connState == .SHR ? "REPLIED" : "UNREPLIED")
            let proto = c.transport == .unknown ? "ip-\(c.ipProtocol)" : c.transport.description + (c.originator.address.isIPv4 ? "" : "6")
            rows.append([proto, c.originator.description, c.responder.description, state, c.connState.description,
                         c.history.isEmpty ? "-" : Escaping.terminal(c.history),
                         String(c.originatorCounters.packets), String(c.originatorCounters.ipBytes),
                         String(c.responderCounters.packets), String(c.responderCounters.ipBytes)])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        let numeric = Set([6, 7, 8, 9])
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return numeric.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n") + "\n"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
