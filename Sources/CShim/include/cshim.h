#ifndef NETLAB_CSHIM_H
#define NETLAB_CSHIM_H

// The few things Swift cannot reach in glibc and the kernel headers: _GNU_SOURCE-only calls,
// function-like ioctl macros, and netlink messages libnl 3.7 has no object API for.

#include <spawn.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <sys/socket.h>

struct nl_sock;

static const int CSHIM_CLONE_NEWNET = 0x40000000;
static const int CSHIM_CLONE_NEWUTS = 0x04000000;
static const int CSHIM_CLONE_NEWPID = 0x20000000;
static const int CSHIM_CLONE_NEWNS = 0x00020000;
static const int CSHIM_CLONE_FS = 0x00000200;

int cshim_unshare(int flags);
int cshim_setns(int fd, int nstype);
int cshim_gettid(void);

// TUN/TAP: open /dev/net/tun and attach or create `name` (at least 16 bytes, in/out).
// Returns the fd, or -errno.
int cshim_tun_open(char *name, int tap, int multi_queue, int vnet_hdr, int nonblocking);
int cshim_tun_set_persist(int fd, int on);
int cshim_tun_set_owner(int fd, int uid);
int cshim_tun_set_group(int fd, int gid);
int cshim_tun_set_offload(int fd, unsigned int flags);
int cshim_tun_set_vnet_hdr_size(int fd, int size);

// Bridges: IFLA_BR_VLAN_FILTERING on a bridge, and a VLAN on a bridge port
// (what `bridge vlan add dev PORT vid VID [pvid] [untagged]` does). 0 or a negative NLE_ code.
int cshim_bridge_set_vlan_filtering(struct nl_sock *sock, int bridge_index, int on);
int cshim_bridge_vlan_add(struct nl_sock *sock, int port_index, uint16_t vid, int pvid, int untagged);

// recvmmsg (declared only under _GNU_SOURCE): receives up to `count` (at most 64) datagrams
// (with UDP_GRO on, each may hold several: segments[i] is then their size, else 0)
// into `vectors`, their senders into `names` and their sizes into `lengths`; returns how many,
// 0 when none is waiting, or -errno.
int cshim_recvmmsg(int fd, struct iovec *vectors, struct sockaddr_storage *names, unsigned int *lengths,
                   unsigned int *segments, unsigned int count);

/// Sends `count` (at most 64) messages to names[i]. Message i gathers vectorCounts[i] entries
/// of `vectors` (laid out one message after another); a non-zero segments[i] sends it as UDP
/// GSO (UDP_SEGMENT), cut into datagrams of that size. A GSO message the kernel refuses (EIO,
/// EINVAL: no segmentation offload on the route) is sent again datagram by datagram. Returns
/// how many messages were sent: a full socket buffer drops the rest, as a full NIC queue would.
int cshim_sendmmsg(int fd, struct iovec *vectors, const unsigned int *vectorCounts, const struct sockaddr_storage *names,
                   const unsigned int *nameLengths, const unsigned short *segments, unsigned int count);

/// UDP_GRO on a socket: coalesced datagrams arrive with their segment size (cshim_recvmmsg).
int cshim_udp_enable_gro(int fd);
int cshim_set_reuseport(int fd);
/// DF on every datagram (IP_PMTUDISC_DO / IPV6_PMTUDISC_DO).
int cshim_set_dont_fragment(int fd, int ipv6);

/// The path MTU the kernel holds for a connected socket's destination (IP_MTU / IPV6_MTU):
/// the route's MTU, lowered by any ICMP "fragmentation needed" / "packet too big" it took.
/// Returns the MTU or -errno.
int cshim_path_mtu(int fd, int ipv6);


/// Starts `file` (PATH searched) with `argv` and `envp` as a child whose descriptors 0..nfds-1
/// are `fds` (nothing else of the parent's), no signal blocked, in a new session if asked, and,
/// when `cgroup_fd` is a cgroup v2 directory, born in that cgroup (clone3 CLONE_INTO_CGROUP:
/// moving a process afterwards waits for an RCU grace period, milliseconds each). Returns 0 and
/// the PID, or the errno of the failed clone or exec.
int cshim_spawn(const char *file, char *const argv[], char *const envp[], const int *fds, int nfds,
                int cgroup_fd, int new_session, int *pid_out);

/// The credentials of the process at the other end of a connected Unix socket (SO_PEERCRED).
/// Returns 0 or -errno.
int cshim_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid);

#endif
