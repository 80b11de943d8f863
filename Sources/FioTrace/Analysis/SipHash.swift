/// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed pseudo-random function with a
/// 128-bit key and a 64-bit output. Without the key its outputs cannot be computed or
/// inverted, which is what `anonymize` needs for names, offsets and sampling decisions.
public struct SipHash24: Sendable, Equatable {
    public let k0: UInt64
    public let k1: UInt64

    public init(k0: UInt64, k1: UInt64) {
        self.k0 = k0
        self.k1 = k1
    }

    /// A key from arbitrary bytes (a passphrase or the contents of a key file): two
    /// SipHash outputs of the bytes under fixed public keys. Only as strong as the bytes:
    /// give 16 or more random bytes (`head -c 32 /dev/urandom > key`).
    public init(keyMaterial: [UInt8]) {
        let a = SipHash24(k0: 0x6669_6f2d_7265_706c, k1: 0x6179_2061_6e6f_6e31) // "fio-repl" "ay anon1"
        let b = SipHash24(k0: 0x6b65_7920_6465_7269, k1: 0x7661_7469_6f6e_2032) // "key deri" "vation 2"
        self.init(k0: a.hash(keyMaterial), k1: b.hash(keyMaterial))
    }

    @inline(__always) static func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }

    @inline(__always)
    static func round(_ v0: inout UInt64, _ v1: inout UInt64, _ v2: inout UInt64, _ v3: inout UInt64) {
        v0 &+= v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
        v2 &+= v3; v3 = rotl(v3, 16); v3 ^= v2
        v0 &+= v3; v3 = rotl(v3, 21); v3 ^= v0
        v2 &+= v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    }

    /// SipHash-2-4 of `bytes`.
    public func hash(_ bytes: some Collection<UInt8>) -> UInt64 {
        var v0 = k0 ^ 0x736f_6d65_7073_6575
        var v1 = k1 ^ 0x646f_7261_6e64_6f6d
        var v2 = k0 ^ 0x6c79_6765_6e65_7261
        var v3 = k1 ^ 0x7465_6462_7974_6573
        var m: UInt64 = 0
        var n = 0
        for b in bytes {
            m |= UInt64(b) << UInt64(8 * (n & 7))
            n += 1
            if n & 7 == 0 {
                v3 ^= m
                Self.round(&v0, &v1, &v2, &v3)
                Self.round(&v0, &v1, &v2, &v3)
                v0 ^= m
                m = 0
            }
        }
        let last = m | (UInt64(n & 0xff) << 56)
        v3 ^= last
        Self.round(&v0, &v1, &v2, &v3)
        Self.round(&v0, &v1, &v2, &v3)
        v0 ^= last
        v2 ^= 0xff
        for _ in 0..<4 { Self.round(&v0, &v1, &v2, &v3) }
        return v0 ^ v1 ^ v2 ^ v3
    }

    /// The hash of a domain tag and 64-bit words (little-endian), for structured inputs.
    public func hash(_ tag: String, _ words: UInt64...) -> UInt64 {
        var bytes = Array(tag.utf8)
        bytes.append(0)
        for w in words { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: w >> UInt64(8 * i))) } }
        return hash(bytes)
    }
}

/// A keyed pseudo-random permutation of [0, n): a balanced Feistel network of 8 rounds
/// with SipHash-2-4 as its round function over the smallest even number of bits that
/// covers n, walked in cycles (applied again while the value is >= n) to stay in range.
/// With a secret key it is a strong pseudo-random permutation (Luby-Rackoff needs 4
/// rounds); the expected number of walks is below 4.
public struct KeyedPermutation: Sendable {
    public let count: UInt64
    let half: UInt64
    let mask: UInt64
    let prf: SipHash24
    let tweak: UInt64

    public init(count: UInt64, prf: SipHash24, tweak: UInt64) {
        precondition(count > 0)
        self.count = count
        var bits = count <= 1 ? 1 : 64 - (count - 1).leadingZeroBitCount
        if bits & 1 == 1 { bits += 1 }
        bits = max(2, bits)
        half = UInt64(bits / 2)
        mask = half >= 64 ? .max : (UInt64(1) << half) - 1
        self.prf = prf
        self.tweak = tweak
    }

    @inline(__always)
    func feistel(_ x: UInt64) -> UInt64 {
        var l = x >> half & mask, r = x & mask
        for round in 0..<UInt64(8) {
            let f = prf.hash("perm", tweak, round, r) & mask
            (l, r) = (r, l ^ f)
        }
        return l << half | r
    }

    /// The image of `i` (< count).
    public func apply(_ i: UInt64) -> UInt64 {
        precondition(i < count)
        var y = feistel(i)
        while y >= count { y = feistel(y) }
        return y
    }
}
