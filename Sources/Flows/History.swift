/// A connection's history string, stored inline for the first 16 letters so
/// recording a letter allocates nothing (ZEEK_SEMANTICS §5).
struct History {
    var low: UInt64 = 0
    var high: UInt64 = 0
    var count: UInt8 = 0
    var overflow: [UInt8] = []

    mutating func append(_ letter: UInt8) {
        switch count {
        case 0..<8: low |= UInt64(letter) << (UInt64(count) * 8)
        case 8..<16: high |= UInt64(letter) << (UInt64(count - 8) * 8)
        default: overflow.append(letter)
        }
        if count < 255 { count += 1 }
    }

    /// Whether the history is exactly the one letter `letter`.
    func isExactly(_ letter: UInt8) -> Bool { count == 1 && low == UInt64(letter) }

    /// Replaces the whole history.
    mutating func replace(with letters: [UInt8]) {
        self = History()
        for l in letters { append(l) }
    }

    var letters: [UInt8] {
        var out: [UInt8] = []
        let n = min(Int(count), 16)
        for i in 0..<n {
            let word = i < 8 ? low : high
            out.append(UInt8(truncatingIfNeeded: word >> (UInt64(i % 8) * 8)))
        }
        return out + overflow
    }

    var string: String { String(decoding: letters, as: UTF8.self) }
}

/// Letter bits for once-only history letters (`HIST_*` in Zeek's Session.h);
/// the responder uses the same bit shifted left by 16.
enum HistoryBit {
    static let syn: UInt32 = 0x1   // S and H share it
    static let fin: UInt32 = 0x2
    static let rst: UInt32 = 0x4
    static let finRst: UInt32 = 0x8
    static let ack: UInt32 = 0x10
    static let data: UInt32 = 0x20
    static let multiFlag: UInt32 = 0x40
}
