import Packet

/// Writes one JSON object per packet, the output contract of `netlab decode --json`
/// (`shared/spec/decode-json.md`): layers outermost first, then the error that stopped the walk.
public struct JSONLinesFormatter: PacketFormatter {
    public let vxlanPort: UInt16

    public init(vxlanPort: UInt16 = VXLANHeader.defaultPort) {
        self.vxlanPort = vxlanPort
    }

    public func format(_ packet: FramedPacket, into out: OutputBuffer) {
        out.append("{\"frame\":")
        out.appendDecimal(packet.number)
        out.append(",\"caplen\":")
        out.appendDecimal(packet.bytes.count)
        out.append(",\"len\":")
        out.appendDecimal(packet.originalLength)
        out.append(",\"layers\":[")
        var walker = LayerWalker(packet.bytes, linkType: packet.linkType, vxlanPort: vxlanPort)
        var first = true
        do {
            while let layer = try walker.next() {
                if !first { out.append(byte: 0x2C) }
                first = false
                write(layer, into: out)
            }
            out.append("],\"error\":null}\n")
        } catch {
            out.append("],\"error\":")
            out.appendJSONString(error.description)
            out.append("}\n")
        }
    }

    private func write(_ layer: Layer, into out: OutputBuffer) {
        switch layer {
        case let .ethernet(eth):
            out.append("{\"layer\":\"ethernet\",\"src\":\"")
            out.append(eth.source)
            out.append("\",\"dst\":\"")
            out.append(eth.destination)
            out.append("\",\"ethertype\":")
            out.appendDecimal(eth.etherType)
            out.append(byte: 0x7D)

        case let .vlan(tag):
            out.append("{\"layer\":\"vlan\",\"tpid\":")
            out.appendDecimal(tag.tpid)
            out.append(",\"pcp\":")
            out.appendDecimal(tag.priority)
            out.append(",\"dei\":")
            appendBool(tag.dropEligible, into: out)
            out.append(",\"vid\":")
            out.appendDecimal(tag.vlanID)
            out.append(",\"ethertype\":")
            out.appendDecimal(tag.etherType)
            out.append(byte: 0x7D)

        case let .sll(sll):
            out.append("{\"layer\":\"sll\",\"protocol\":")
            out.appendDecimal(sll.protocolType)
            out.append(",\"packet_type\":")
            out.appendDecimal(sll.packetType)
            out.append(",\"hatype\":")
            out.appendDecimal(sll.hardwareType)
            out.append(byte: 0x7D)

        case let .arp(arp):
            out.append("{\"layer\":\"arp\",\"op\":")
            out.appendDecimal(arp.operation)
            out.append(",\"sender_mac\":\"")
            appendHardware(arp.senderHardwareAddressBytes, into: out)
            out.append("\",\"sender_ip\":\"")
            appendProtocolAddress(arp.senderProtocolAddressBytes, into: out)
            out.append("\",\"target_mac\":\"")
            appendHardware(arp.targetHardwareAddressBytes, into: out)
            out.append("\",\"target_ip\":\"")
            appendProtocolAddress(arp.targetProtocolAddressBytes, into: out)
            out.append("\"}")

        case let .ipv4(ip):
            out.append("{\"layer\":\"ipv4\",\"src\":\"")
            out.append(ip.source)
            out.append("\",\"dst\":\"")
            out.append(ip.destination)
            out.append("\",\"ihl\":")
            out.appendDecimal(ip.ihl)
            out.append(",\"tos\":")
            out.appendDecimal(ip.tos)
            out.append(",\"total_length\":")
            out.appendDecimal(ip.totalLength)
            out.append(",\"id\":")
            out.appendDecimal(ip.identification)
            out.append(",\"df\":")
            appendBool(ip.dontFragment, into: out)
            out.append(",\"mf\":")
            appendBool(ip.moreFragments, into: out)
            out.append(",\"frag_offset\":")
            out.appendDecimal(ip.fragmentOffset)
            out.append(",\"ttl\":")
            out.appendDecimal(ip.ttl)
            out.append(",\"protocol\":")
            out.appendDecimal(ip.protocolNumber)
            out.append(",\"checksum_ok\":")
            appendBool(ip.isChecksumValid, into: out)
            out.append(byte: 0x7D)

        case let .ipv6(ip):
            out.append("{\"layer\":\"ipv6\",\"src\":\"")
            out.append(ip.source)
            out.append("\",\"dst\":\"")
            out.append(ip.destination)
            out.append("\",\"traffic_class\":")
            out.appendDecimal(ip.trafficClass)
            out.append(",\"flow_label\":")
            out.appendDecimal(ip.flowLabel)
            out.append(",\"payload_length\":")
            out.appendDecimal(ip.payloadLength)
            out.append(",\"next_header\":")
            out.appendDecimal(ip.nextHeader)
            out.append(",\"hop_limit\":")
            out.appendDecimal(ip.hopLimit)
            out.append(byte: 0x7D)

        case let .ipv6Extension(ext):
            out.append("{\"layer\":\"ipv6_ext\",\"header\":")
            out.appendDecimal(ext.headerType)
            out.append(",\"next_header\":")
            out.appendDecimal(ext.nextHeader)
            out.append(",\"length\":")
            out.appendDecimal(ext.length)
            if ext.isFragmentHeader {
                out.append(",\"frag_offset\":")
                out.appendDecimal(ext.fragmentOffset)
                out.append(",\"mf\":")
                appendBool(ext.moreFragments, into: out)
                out.append(",\"id\":")
                out.appendDecimal(ext.identification)
            }
            out.append(byte: 0x7D)

        case let .icmp(icmp, context):
            out.append("{\"layer\":\"icmp\"")
            appendICMPFields(type: icmp.type, code: icmp.code, checksumOK: icmp.checksumStatus(in: context), into: out)

        case let .icmpv6(icmp, context):
            out.append("{\"layer\":\"icmpv6\"")
            appendICMPFields(type: icmp.type, code: icmp.code, checksumOK: icmp.checksumStatus(in: context), into: out)

        case let .udp(udp, context):
            out.append("{\"layer\":\"udp\",\"src_port\":")
            out.appendDecimal(udp.sourcePort)
            out.append(",\"dst_port\":")
            out.appendDecimal(udp.destinationPort)
            out.append(",\"length\":")
            out.appendDecimal(udp.length)
            out.append(",\"checksum_ok\":")
            appendBool(udp.checksumStatus(in: context), into: out)
            out.append(byte: 0x7D)

        case let .tcp(tcp, context):
            out.append("{\"layer\":\"tcp\",\"src_port\":")
            out.appendDecimal(tcp.sourcePort)
            out.append(",\"dst_port\":")
            out.appendDecimal(tcp.destinationPort)
            out.append(",\"seq\":")
            out.appendDecimal(tcp.sequenceNumber)
            out.append(",\"ack\":")
            out.appendDecimal(tcp.acknowledgmentNumber)
            out.append(",\"data_offset\":")
            out.appendDecimal(tcp.headerLength)
            out.append(",\"flags\":[")
            appendFlags(tcp.flags, into: out)
            out.append("],\"window\":")
            out.appendDecimal(tcp.window)
            out.append(",\"checksum_ok\":")
            appendBool(tcp.checksumStatus(in: context), into: out)
            out.append(byte: 0x7D)

        case let .vxlan(vxlan):
            out.append("{\"layer\":\"vxlan\",\"flags\":")
            out.appendDecimal(vxlan.flags)
            out.append(",\"vni\":")
            out.appendDecimal(vxlan.vni)
            out.append(byte: 0x7D)

        case let .payload(bytes):
            out.append("{\"layer\":\"payload\",\"length\":")
            out.appendDecimal(bytes.count)
            out.append(byte: 0x7D)
        }
    }

    /// The part ICMP and ICMPv6 share: type, code, checksum, and the closing brace.
    private func appendICMPFields(type: UInt8, code: UInt8, checksumOK: Bool?, into out: OutputBuffer) {
        out.append(",\"type\":")
        out.appendDecimal(type)
        out.append(",\"code\":")
        out.appendDecimal(code)
        out.append(",\"checksum_ok\":")
        appendBool(checksumOK, into: out)
        out.append(byte: 0x7D)
    }

    private func appendBool(_ value: Bool?, into out: OutputBuffer) {
        switch value {
        case true?: out.append("true")
        case false?: out.append("false")
        case nil: out.append("null")
        }
    }

    private func appendFlags(_ flags: TCPHeader.Flags, into out: OutputBuffer) {
        var first = true
        for (flag, name) in TCPFlagNames.all where flags.contains(flag) {
            if !first { out.append(byte: 0x2C) }
            first = false
            out.append(byte: 0x22)
            out.append(name)
            out.append(byte: 0x22)
        }
    }

    private func appendHardware(_ bytes: UnsafeRawBufferPointer, into out: OutputBuffer) {
        if bytes.count == 6 {
            out.append(MACAddress(bytes, at: 0))
        } else {
            out.appendHexBytes(bytes)
        }
    }

    private func appendProtocolAddress(_ bytes: UnsafeRawBufferPointer, into out: OutputBuffer) {
        switch bytes.count {
        case 4: out.append(IPv4Address(bytes, at: 0))
        case 16: out.append(IPv6Address(bytes, at: 0))
        default: out.appendHexBytes(bytes)
        }
    }
}
