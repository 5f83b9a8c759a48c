import Packet

/// TCP flag names in the order the decode contract lists them.
enum TCPFlagNames {
    static let all: [(TCPHeader.Flags, StaticString)] = [
        (.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"),
        (.ack, "ACK"), (.urg, "URG"), (.ece, "ECE"), (.cwr, "CWR"),
    ]
}
