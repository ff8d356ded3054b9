/// A connection's history string: the first 16 letters inline, so recording a
/// letter never allocates and the connection state stays a plain value
/// (ZEEK_SEMANTICS §5). Letters beyond 16 wait in `spill` until the tracker moves
/// them to its side table after the packet.
struct History {
    static let inlineCapacity = 16
    var words: (UInt64, UInt64) = (0, 0)
    /// Letters recorded in all (inline and spilled).
    var count: UInt16 = 0
    var spill: UInt32 = 0
    var spillCount: UInt8 = 0

    mutating func append(_ letter: UInt8) {
        let i = Int(count)
        if i < Self.inlineCapacity {
            let shift = UInt64(i % 8) * 8
            if i < 8 { words.0 |= UInt64(letter) << shift } else { words.1 |= UInt64(letter) << shift }
        } else if spillCount < 4 {
            spill |= UInt32(letter) << (UInt32(spillCount) * 8)
            spillCount += 1
        } else {
            return  // more than 4 letters in one packet cannot happen
        }
        count &+= 1
    }

    /// Returns and clears the spilled letters.
    mutating func takeSpill() -> [UInt8] {
        var out: [UInt8] = []
        for i in 0..<Int(spillCount) { out.append(UInt8(truncatingIfNeeded: spill >> (UInt32(i) * 8))) }
        spill = 0
        spillCount = 0
        return out
    }

    /// Whether the history is exactly the one letter `letter`.
    func isExactly(_ letter: UInt8) -> Bool { count == 1 && words.0 == UInt64(letter) }

    /// Replaces the whole history (only ever with a short string).
    mutating func replace(with letters: [UInt8]) {
        self = History()
        for l in letters { append(l) }
    }

    /// The inline letters.
    var letters: [UInt8] {
        var out: [UInt8] = []
        let n = min(Int(count), Self.inlineCapacity)
        for i in 0..<n {
            let word = i < 8 ? words.0 : words.1
            out.append(UInt8(truncatingIfNeeded: word >> (UInt64(i % 8) * 8)))
        }
        return out
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
