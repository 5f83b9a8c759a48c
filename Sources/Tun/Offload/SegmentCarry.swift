import Packet

/// The read side of a TUN device's offloads (wireguard-go's `handleVirtioRead`): a
/// super-packet read into a staging buffer is cut into the caller's batch, segment by
/// segment, and what does not fit waits for the next read.
///
/// One per queue; the staging buffer is made once.
final class SegmentCarry {
    /// Room for one read: a virtio-net header, then the largest packet.
    let staging: UnsafeMutableRawBufferPointer
    /// The super-packet being cut, and its next segment.
    private var pending: SuperPacket?
    private var next = 0

    init(maximumPacketSize: Int) {
        staging = .allocate(byteCount: VirtioNetHeader.length + maximumPacketSize, alignment: 64)
    }

    deinit {
        staging.deallocate()
    }

    /// Where a read's packet lands (its virtio header just in front).
    var packetStart: UnsafeMutableRawPointer? { staging.baseAddress.map { $0 + VirtioNetHeader.length } }
    var packetCapacity: Int { staging.count - VirtioNetHeader.length }

    /// True while segments of a super-packet wait to be handed out.
    var isPending: Bool { pending != nil }

    /// Starts cutting the super-packet now in staging.
    func begin(_ superPacket: SuperPacket) {
        pending = superPacket
        next = 0
    }

    /// Writes waiting segments into `batch` from slot `first` on, as many as fit; returns the
    /// next free slot.
    func drain(into batch: PacketBatch, from first: Int) -> Int {
        guard let superPacket = pending else { return first }
        var slot = first
        while slot < batch.capacity, next < superPacket.segmentCount {
            let room = UnsafeMutableRawBufferPointer(rebasing: batch.slot(slot)[batch.headroom...])
            guard let length = try? superPacket.writeSegment(next, into: room) else { break }
            batch.setLength(length, of: slot)
            slot += 1
            next += 1
        }
        if next >= superPacket.segmentCount || slot < batch.capacity { pending = nil }
        return slot
    }
}
