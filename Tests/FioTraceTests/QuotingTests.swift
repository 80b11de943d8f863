import Testing
@testable import FioTrace

@Suite struct QuotingTests {
    /// Hand-written expectations: line breaks and terminal controls become escapes, the
    /// rest (tabs, quotes, backslashes, non-ASCII text) stays as it is.
    @Test func lineBreakingCharactersBecomeEscapes() {
        #expect("a\rb\u{0B}c\u{0C}d\ne".escapingControlCharacters == #"a\rb\vc\fd\ne"#)
        #expect("x\u{1B}[2Jy\u{7F}z\u{85}w\u{2028}v\u{2029}".escapingControlCharacters == #"x\u{1B}[2Jy\u{7F}z\u{85}w\u{2028}v\u{2029}"#)
        #expect("\u{00}".escapingControlCharacters == #"\u{0}"#)
        let plain = "tab\there \"quoted\" back\\slash größe 名前 \u{FFFD}"
        #expect(plain.escapingControlCharacters == plain)
    }

    /// An error's description (what every front end prints) is one line whatever it quotes;
    /// its message keeps the input as it was.
    @Test func errorDescriptionsAreOneLine() {
        let e = TraceError(.malformedLine, "t.log:3: bad line \"x\ry\u{0B}z\u{00}\"")
        #expect(e.description == #"t.log:3: bad line "x\ry\vz\u{0}""#)
        #expect(e.message.contains("\r"))
    }
}
