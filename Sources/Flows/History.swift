/// A connection's history string in 12 bytes (Docs/ZeekSemantics.md §5).
///
/// The first 12 letters are kept inline as 5-bit codes (Zeek's history alphabet
/// has 25 letters) with their count in the top 4 bits of one word, so recording a
/// letter never allocates and the connection state stays a small plain value.
/// Letters beyond 12 wait in `spill` (up to 4, as ASCII) until the tracker moves
/// them to its side table after the packet; the count then reads ``overflowed``.
struct History {
    static let inlineCapacity = 12
    /// The count value meaning "all 12 inline, more in the tracker's side table".
    static let overflowed: UInt64 = 13
    /// Letter codes in bits 0–59 (5 bits each, first letter lowest), count in bits 60–63.
    var word: UInt64 = 0
    /// Letters waiting to be moved to the side table, as ASCII bytes (0: none).
    var spill: UInt32 = 0

    /// The history alphabet: code `i + 1` is `alphabet[i]`.
    static let alphabet: [UInt8] = Array("SHADFRCGTWIQ^shadfrcgtwiqX".utf8)

    /// The 5-bit code of a history letter (0 for anything else): its position in
    /// ``alphabet`` plus one, spelled out so a constant letter folds to its code.
    @inline(__always)
    static func code(_ letter: UInt8) -> UInt64 {
        switch letter {
        case UInt8(ascii: "S"): 1
        case UInt8(ascii: "H"): 2
        case UInt8(ascii: "A"): 3
        case UInt8(ascii: "D"): 4
        case UInt8(ascii: "F"): 5
        case UInt8(ascii: "R"): 6
        case UInt8(ascii: "C"): 7
        case UInt8(ascii: "G"): 8
        case UInt8(ascii: "T"): 9
        case UInt8(ascii: "W"): 10
        case UInt8(ascii: "I"): 11
        case UInt8(ascii: "Q"): 12
        case UInt8(ascii: "^"): 13
        case UInt8(ascii: "s"): 14
        case UInt8(ascii: "h"): 15
        case UInt8(ascii: "a"): 16
        case UInt8(ascii: "d"): 17
        case UInt8(ascii: "f"): 18
        case UInt8(ascii: "r"): 19
        case UInt8(ascii: "c"): 20
        case UInt8(ascii: "g"): 21
        case UInt8(ascii: "t"): 22
        case UInt8(ascii: "w"): 23
        case UInt8(ascii: "i"): 24
        case UInt8(ascii: "q"): 25
        case UInt8(ascii: "X"): 26
        default: 0
        }
    }

    /// Letters kept inline (0…12), or ``overflowed``.
    var inlineCount: UInt64 { word >> 60 }

    /// Whether letters beyond the inline ones exist (spilled or moved to the side table).
    var hasOverflow: Bool { inlineCount == Self.overflowed || spill != 0 }

    /// The number of letters waiting in `spill`.
    var spillCount: Int { (spill == 0 ? 0 : 4 - spill.leadingZeroBitCount / 8) }

    mutating func append(_ letter: UInt8) {
        let n = inlineCount
        if n < UInt64(Self.inlineCapacity) {
            let c = Self.code(letter)
            precondition(c != 0, "not a history letter")
            word = (word & ((1 << (n * 5)) - 1)) | c << (n * 5) | (n + 1) << 60
        } else if spillCount < 4 {
            spill |= UInt32(letter) << (UInt32(spillCount) * 8)
        }
        // More than 4 letters beyond the inline ones in one packet cannot happen.
    }

    /// Returns and clears the spilled letters; from then on the history reads as overflowed.
    mutating func takeSpill() -> [UInt8] {
        var out: [UInt8] = []
        var s = spill
        while s != 0 {
            out.append(UInt8(truncatingIfNeeded: s))
            s >>= 8
        }
        spill = 0
        word = (word & ((1 << 60) - 1)) | Self.overflowed << 60
        return out
    }

    /// Whether the history is exactly the one letter `letter`.
    func isExactly(_ letter: UInt8) -> Bool { word == (1 << 60 | Self.code(letter)) && spill == 0 }

    /// Replaces the whole history (only ever with a short string).
    mutating func replace(with letters: [UInt8]) {
        self = History()
        for l in letters { append(l) }
    }

    /// How many letters are inline (0…12).
    var inlineLetterCount: Int { Int(min(inlineCount, UInt64(Self.inlineCapacity))) }

    /// Inline letter `i` as ASCII.
    func letter(_ i: Int) -> UInt8 { Self.alphabet[Int((word >> UInt64(i * 5)) & 31) - 1] }

    /// The inline letters.
    var letters: [UInt8] { (0..<inlineLetterCount).map(letter) }

    /// The inline letters as a string, built on the stack.
    var string: String {
        let n = inlineLetterCount
        var out = InlineArray<12, UInt8>(repeating: 0)
        for i in 0..<n { out[i] = letter(i) }
        return String(ascii: out.span.extracting(0..<n))
    }
}

/// Letter bits for once-only history letters (`HIST_*` in Zeek's Session.h);
/// the responder uses the same bit shifted left by 8.
enum HistoryBit {
    static let syn: UInt16 = 0x1   // S and H share it
    static let fin: UInt16 = 0x2
    static let rst: UInt16 = 0x4
    static let finRst: UInt16 = 0x8
    static let ack: UInt16 = 0x10
    static let data: UInt16 = 0x20
    static let multiFlag: UInt16 = 0x40
    /// `X` (an analyzer's protocol violation): always upper-case, once per connection.
    static let violation: UInt16 = 0x80
}
