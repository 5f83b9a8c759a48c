import Packet
import Testing

@Suite("Internet checksum")
struct InternetChecksumTests {
    /// Straightforward RFC 1071 reference: 16-bit big-endian words, end-around carry.
    static func reference(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    @Test("RFC 1071 section 3 example")
    func rfc1071Example() {
        // 00 01 f2 03 f4 f5 f6 f7 sums to ddf2; the checksum is its complement.
        let bytes: [UInt8] = [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7]
        #expect(bytes.withUnsafeBytes { InternetChecksum.of($0) } == ~UInt16(0xDDF2))
    }

    @Test("matches the reference at every length 0...300 and with random data")
    func matchesReference() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(bytes.withUnsafeBytes { InternetChecksum.of($0) } == Self.reference(bytes), "length \(length)")
        }
        let ones = [UInt8](repeating: 0xFF, count: 1500)
        #expect(ones.withUnsafeBytes { InternetChecksum.of($0) } == Self.reference(ones))
    }

    @Test("adding while copying copies every byte and sums as adding does, at every length 0...300 and odd offsets")
    func addCopying() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<(length + 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var destination = [UInt8](repeating: 0xAA, count: length + 5)
            var copied = InternetChecksum()
            bytes.withUnsafeBytes { source in
                destination.withUnsafeMutableBytes { out in
                    copied.addCopying(UnsafeRawBufferPointer(rebasing: source[3...]), to: UnsafeMutableRawBufferPointer(rebasing: out[1...]))
                }
            }
            #expect(Array(destination[1..<(length + 1)]) == Array(bytes[3...]), "length \(length)")
            #expect(destination[0] == 0xAA && destination[length + 1] == 0xAA, "wrote outside the copy at length \(length)")
            #expect(copied.value == Self.reference(Array(bytes[3...])), "length \(length)")
        }
    }

    @Test("a header with its checksum verifies; a flipped bit does not")
    func verify() {
        var header = TestFrames.hex("45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7")
        TestFrames.fixIPv4Checksum(&header, at: 0)
        #expect(header[10] == 0xB8 && header[11] == 0x61)  // the well-known example value
        var sum = InternetChecksum()
        header.withUnsafeBytes { sum.add($0) }
        #expect(sum.isValid)
        header[3] ^= 0x01
        var bad = InternetChecksum()
        header.withUnsafeBytes { bad.add($0) }
        #expect(!bad.isValid)
    }

    @Test("RFC 1624 incremental update equals a full recomputation")
    func incremental() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var header = TestFrames.hex("45 00 00 54 ab cd 40 00 40 01 00 00 0a 00 00 01 0a 00 00 02")
            header[8] = UInt8.random(in: 0...255, using: &generator)
            header[12] = UInt8.random(in: 0...255, using: &generator)
            TestFrames.fixIPv4Checksum(&header, at: 0)
            let ttl = UInt8.random(in: 0...255, using: &generator)
            try header.withUnsafeMutableBytes { try IPv4Header.setTTL(ttl, in: $0) }
            var expected = header
            TestFrames.fixIPv4Checksum(&expected, at: 0)
            // 0x0000 and 0xffff are the same one's complement value; RFC 1624 picks the right one.
            #expect(header == expected)
        }
    }
}
