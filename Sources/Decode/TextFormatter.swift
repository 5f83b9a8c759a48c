import Packet

/// Writes one line per packet in the spirit of `tcpdump -e -nn`: a UTC timestamp, then each
/// layer outermost first, with VXLAN inner frames after a `|`.
///
/// ```
/// 12:00:00.000001 02:00:5e:20:00:01 > 02:00:5e:20:00:02, IPv4 198.51.100.1 > 198.51.100.2 ttl 64 id 32769 len 104 [DF],
///   UDP 49152 > 4789 len 84, VXLAN vni 5001 | 02:00:5e:30:00:0a > 02:00:5e:30:00:0b, IPv4 ...
/// ```
public struct TextFormatter: PacketFormatter {
    public let vxlanPort: UInt16
    /// Print the frame number first (like `tcpdump -#`).
    public let numbered: Bool

    public init(vxlanPort: UInt16 = VXLANHeader.defaultPort, numbered: Bool = false) {
        self.vxlanPort = vxlanPort
        self.numbered = numbered
    }

    public func format(_ packet: FramedPacket, into out: OutputBuffer) {
        if numbered {
            out.appendDecimal(packet.number)
            out.append("  ")
        }
        appendTime(seconds: packet.seconds, microseconds: packet.microseconds, into: out)
        var walker = LayerWalker(packet.bytes, linkType: packet.linkType, vxlanPort: vxlanPort)
        var separator: StaticString = " "
        do {
            while let layer = try walker.next() {
                out.append(separator)
                separator = ", "
                if case .vxlan = layer { separator = " | " }
                write(layer, into: out)
            }
        } catch {
            out.append(separator)
            out.append("[malformed: ")
            out.append(error.description)
            out.append("]")
        }
        if packet.originalLength > packet.bytes.count {
            out.append(" [captured ")
            out.appendDecimal(packet.bytes.count)
            out.append(" of ")
            out.appendDecimal(packet.originalLength)
            out.append("]")
        }
        out.append(byte: 0x0A)
    }

    private func appendTime(seconds: Int, microseconds: Int, into out: OutputBuffer) {
        let ofDay = ((seconds % 86_400) + 86_400) % 86_400
        out.appendPadded(ofDay / 3600, digits: 2)
        out.append(byte: 0x3A)
        out.appendPadded(ofDay / 60 % 60, digits: 2)
        out.append(byte: 0x3A)
        out.appendPadded(ofDay % 60, digits: 2)
        out.append(byte: 0x2E)
        out.appendPadded(microseconds, digits: 6)
    }

    private func write(_ layer: Layer, into out: OutputBuffer) {
        switch layer {
        case let .ethernet(eth):
            out.append(eth.source)
            out.append(" > ")
            out.append(eth.destination)
            out.append(" ethertype ")
            appendEtherType(eth.etherType, into: out)

        case let .vlan(tag):
            out.append("vlan ")
            out.appendDecimal(tag.vlanID)
            out.append(" p ")
            out.appendDecimal(tag.priority)
            if tag.dropEligible { out.append(" DEI") }
            if tag.tpid != EtherType.vlan {
                out.append(" tpid ")
                out.appendHex(UInt64(tag.tpid), digits: 4)
            }
            out.append(" ethertype ")
            appendEtherType(tag.etherType, into: out)

        case let .sll(sll):
            switch sll.packetType {
            case 0: out.append("In")
            case 1: out.append("B")
            case 2: out.append("M")
            case 3: out.append("P")
            case 4: out.append("Out")
            default: out.appendDecimal(sll.packetType)
            }
            if sll.version == 2 {
                out.append(" ifindex ")
                out.appendDecimal(sll.interfaceIndex)
            }
            out.append(" ethertype ")
            appendEtherType(sll.protocolType, into: out)

        case let .arp(arp):
            out.append("ARP ")
            guard arp.isEthernetIPv4 else {
                out.append("op ")
                out.appendDecimal(arp.operation)
                out.append(" hlen ")
                out.appendDecimal(arp.hardwareLength)
                out.append(" plen ")
                out.appendDecimal(arp.protocolLength)
                return
            }
            switch arp.operation {
            case 1:
                out.append("Request who-has ")
                out.append(arp.targetIP)
                out.append(" tell ")
                out.append(arp.senderIP)
            case 2:
                out.append("Reply ")
                out.append(arp.senderIP)
                out.append(" is-at ")
                out.append(arp.senderMAC)
            default:
                out.append("op ")
                out.appendDecimal(arp.operation)
                out.append(" sender ")
                out.append(arp.senderIP)
                out.append(" target ")
                out.append(arp.targetIP)
            }

        case let .ipv4(ip):
            out.append("IPv4 ")
            out.append(ip.source)
            out.append(" > ")
            out.append(ip.destination)
            out.append(" ttl ")
            out.appendDecimal(ip.ttl)
            out.append(" id ")
            out.appendDecimal(ip.identification)
            out.append(" len ")
            out.appendDecimal(ip.totalLength)
            if ip.tos != 0 {
                out.append(" tos ")
                out.appendHex(UInt64(ip.tos), digits: 2)
            }
            if ip.dontFragment { out.append(" [DF]") }
            if ip.isFragment {
                out.append(" frag ")
                out.appendDecimal(ip.fragmentOffset)
                if ip.moreFragments { out.append("+") }
            }
            if !ip.isChecksumValid { out.append(" [bad ip cksum]") }
            if !(1...2).contains(ip.protocolNumber), ip.protocolNumber != IPProtocol.tcp, ip.protocolNumber != IPProtocol.udp {
                out.append(" proto ")
                out.appendDecimal(ip.protocolNumber)
            }

        case let .ipv6(ip):
            out.append("IPv6 ")
            out.append(ip.source)
            out.append(" > ")
            out.append(ip.destination)
            out.append(" hlim ")
            out.appendDecimal(ip.hopLimit)
            out.append(" plen ")
            out.appendDecimal(ip.payloadLength)
            if ip.flowLabel != 0 {
                out.append(" flow ")
                out.appendHex(UInt64(ip.flowLabel), digits: 5)
            }
            out.append(" next ")
            out.appendDecimal(ip.nextHeader)

        case let .ipv6Extension(ext):
            switch ext.headerType {
            case IPProtocol.hopByHop: out.append("HBH")
            case IPProtocol.routing: out.append("RT type ")
                out.appendDecimal(ext.routingType)
            case IPProtocol.fragment:
                out.append("FRAG id ")
                out.appendDecimal(ext.identification)
                out.append(" offset ")
                out.appendDecimal(ext.fragmentOffset)
                if ext.moreFragments { out.append("+") }
            default: out.append("DSTOPT")
            }
            out.append(" len ")
            out.appendDecimal(ext.length)

        case let .icmp(icmp, context):
            out.append("ICMP ")
            appendICMPName(type: icmp.type, code: icmp.code, v6: false, into: out)
            if icmp.type == 0 || icmp.type == 8 {
                out.append(" id ")
                out.appendDecimal(icmp.identifier)
                out.append(" seq ")
                out.appendDecimal(icmp.sequenceNumber)
            }
            appendChecksumNote(icmp.checksumStatus(in: context), into: out)

        case let .icmpv6(icmp, context):
            out.append("ICMP6 ")
            appendICMPName(type: icmp.type, code: icmp.code, v6: true, into: out)
            appendChecksumNote(icmp.checksumStatus(in: context), into: out)

        case let .udp(udp, context):
            out.append("UDP ")
            out.appendDecimal(udp.sourcePort)
            out.append(" > ")
            out.appendDecimal(udp.destinationPort)
            out.append(" len ")
            out.appendDecimal(udp.length)
            if context.isPartialChecksum(udp.checksum, protocolNumber: IPProtocol.udp, length: udp.length) {
                out.append(" [partial cksum]")
            } else {
                appendChecksumNote(udp.checksumStatus(in: context), into: out)
            }

        case let .tcp(tcp, context):
            out.append("TCP ")
            out.appendDecimal(tcp.sourcePort)
            out.append(" > ")
            out.appendDecimal(tcp.destinationPort)
            out.append(" [")
            appendFlags(tcp.flags, into: out)
            out.append("] seq ")
            out.appendDecimal(tcp.sequenceNumber)
            if tcp.flags.contains(.ack) {
                out.append(" ack ")
                out.appendDecimal(tcp.acknowledgmentNumber)
            }
            out.append(" win ")
            out.appendDecimal(tcp.window)
            if tcp.headerLength > TCPHeader.minimumLength { appendOptions(tcp.options, into: out) }
            if context.isPartialChecksum(tcp.checksum, protocolNumber: IPProtocol.tcp, length: context.upperLayerLength) {
                out.append(" [partial cksum]")
            } else {
                appendChecksumNote(tcp.checksumStatus(in: context), into: out)
            }

        case let .vxlan(vxlan):
            out.append("VXLAN vni ")
            out.appendDecimal(vxlan.vni)
            if vxlan.flags != VXLANHeader.validVNIFlag {
                out.append(" flags ")
                out.appendHex(UInt64(vxlan.flags), digits: 2)
            }

        case let .payload(bytes):
            out.append("payload ")
            out.appendDecimal(bytes.count)
        }
    }

    private func appendEtherType(_ type: UInt16, into out: OutputBuffer) {
        switch type {
        case EtherType.ipv4: out.append("IPv4")
        case EtherType.ipv6: out.append("IPv6")
        case EtherType.arp: out.append("ARP")
        case EtherType.vlan: out.append("802.1Q")
        case EtherType.qinq: out.append("802.1Q-QinQ")
        default: out.appendHex(UInt64(type), digits: 4)
        }
    }

    private func appendICMPName(type: UInt8, code: UInt8, v6: Bool, into out: OutputBuffer) {
        switch (v6, type) {
        case (false, 0), (true, 129): out.append("echo reply")
        case (false, 8), (true, 128): out.append("echo request")
        case (false, 3): out.append("unreachable")
        case (false, 11), (true, 3): out.append("time exceeded")
        case (true, 1): out.append("unreachable")
        case (true, 2): out.append("packet too big")
        case (true, 133): out.append("router solicitation")
        case (true, 134): out.append("router advertisement")
        case (true, 135): out.append("neighbor solicitation")
        case (true, 136): out.append("neighbor advertisement")
        default:
            out.append("type ")
            out.appendDecimal(type)
        }
        if code != 0 {
            out.append(" code ")
            out.appendDecimal(code)
        }
    }

    private func appendChecksumNote(_ status: Bool?, into out: OutputBuffer) {
        if status == false { out.append(" [bad cksum]") }
    }

    private func appendFlags(_ flags: TCPHeader.Flags, into out: OutputBuffer) {
        // tcpdump's letters: S F R P U E W, and "." for ACK.
        if flags.contains(.syn) { out.append("S") }
        if flags.contains(.fin) { out.append("F") }
        if flags.contains(.rst) { out.append("R") }
        if flags.contains(.psh) { out.append("P") }
        if flags.contains(.urg) { out.append("U") }
        if flags.contains(.ece) { out.append("E") }
        if flags.contains(.cwr) { out.append("W") }
        if flags.contains(.ack) { out.append(".") }
    }

    private func appendOptions(_ options: TCPOptions, into out: OutputBuffer) {
        out.append(" opts [")
        var first = true
        var options = options
        while let option = options.next() {
            if !first { out.append(",") }
            first = false
            switch option {
            case .endOfList: out.append("eol")
            case .noOperation: out.append("nop")
            case let .maximumSegmentSize(mss):
                out.append("mss ")
                out.appendDecimal(mss)
            case let .windowScale(shift):
                out.append("wscale ")
                out.appendDecimal(shift)
            case .sackPermitted: out.append("sackOK")
            case let .sack(blocks):
                out.append("sack ")
                out.appendDecimal(blocks.count / 8)
            case let .timestamps(value, echo):
                out.append("TS val ")
                out.appendDecimal(value)
                out.append(" ecr ")
                out.appendDecimal(echo)
            case let .unknown(kind, _):
                out.append("opt-")
                out.appendDecimal(kind)
            }
        }
        if options.error != nil { out.append(first ? "bad" : ",bad") }
        out.append("]")
    }
}
