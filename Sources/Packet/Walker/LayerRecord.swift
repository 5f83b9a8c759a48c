/// One header `LayerStack` has checked: its kind and where it lies, as offsets into the frame.
///
/// Small and plain (12 bytes, no references) so that walking a frame costs a few stores per
/// layer; the `Layer` view is rebuilt from it without checking the header again.
@usableFromInline
struct LayerRecord {
    @usableFromInline var start: Int32
    @usableFromInline var end: Int32
    /// What else the view needs: the TPID (VLAN), the version (SLL) or the header type (IPv6
    /// extension).
    @usableFromInline var detail: UInt16
    @usableFromInline var kind: LayerKind
    /// For a transport header: `isIPv6` and `isFragment` of its pseudo-header context in the low
    /// bits, the record index of its IP header in the high four.
    @usableFromInline var context: UInt8

    @usableFromInline static let isIPv6: UInt8 = 1
    @usableFromInline static let isFragment: UInt8 = 2

    @inlinable @inline(__always)
    init(_ kind: LayerKind, start: Int, end: Int, detail: UInt16 = 0, ipIndex: Int = 0, flags: UInt8 = 0) {
        self.start = Int32(truncatingIfNeeded: start)
        self.end = Int32(truncatingIfNeeded: end)
        self.detail = detail
        self.kind = kind
        self.context = flags | UInt8(truncatingIfNeeded: ipIndex << 4)
    }

    @inlinable var ipIndex: Int { Int(context >> 4) }
    @inlinable var isIPv6: Bool { context & Self.isIPv6 != 0 }
    @inlinable var isFragment: Bool { context & Self.isFragment != 0 }
}
