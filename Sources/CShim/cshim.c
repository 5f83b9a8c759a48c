#define _GNU_SOURCE
#include "cshim.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <linux/if_tun.h>
#include <linux/if_link.h>
#include <linux/if_bridge.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

_Static_assert(CLONE_NEWNET == 0x40000000, "CLONE_NEWNET");

int cshim_unshare(int flags) { return unshare(flags); }
int cshim_setns(int fd, int nstype) { return setns(fd, nstype); }
int cshim_gettid(void) { return (int)gettid(); }

int cshim_tun_open(char *name, int tap, int multi_queue, int vnet_hdr, int nonblocking) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0));
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
    if (multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (vnet_hdr) ifr.ifr_flags |= IFF_VNET_HDR;
    if (name && name[0]) strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (name) memcpy(name, ifr.ifr_name, IFNAMSIZ);
    return fd;
}

static int ioctl_result(int rc) { return rc < 0 ? -errno : 0; }
int cshim_tun_set_persist(int fd, int on) { return ioctl_result(ioctl(fd, TUNSETPERSIST, on)); }
int cshim_tun_set_owner(int fd, int uid) { return ioctl_result(ioctl(fd, TUNSETOWNER, uid)); }
int cshim_tun_set_group(int fd, int gid) { return ioctl_result(ioctl(fd, TUNSETGROUP, gid)); }
int cshim_tun_set_offload(int fd, unsigned int flags) { return ioctl_result(ioctl(fd, TUNSETOFFLOAD, flags)); }
int cshim_tun_set_vnet_hdr_size(int fd, int size) { return ioctl_result(ioctl(fd, TUNSETVNETHDRSZ, &size)); }

static int send_and_ack(struct nl_sock *sock, struct nl_msg *msg) {
    int rc = nl_send_auto(sock, msg);
    nlmsg_free(msg);
    if (rc < 0) return rc;
    return nl_wait_for_ack(sock);
}

int cshim_bridge_set_vlan_filtering(struct nl_sock *sock, int bridge_index, int on) {
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
    if (!msg) return -NLE_NOMEM;
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = bridge_index };
    if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) goto fail;
    struct nlattr *info = nla_nest_start(msg, IFLA_LINKINFO);
    if (!info || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0) goto fail;
    struct nlattr *data = nla_nest_start(msg, IFLA_INFO_DATA);
    if (!data || nla_put_u8(msg, IFLA_BR_VLAN_FILTERING, on ? 1 : 0) < 0) goto fail;
    nla_nest_end(msg, data);
    nla_nest_end(msg, info);
    return send_and_ack(sock, msg);
fail:
    nlmsg_free(msg);
    return -NLE_NOMEM;
}

int cshim_bridge_vlan_add(struct nl_sock *sock, int port_index, uint16_t vid, int pvid, int untagged) {
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
    if (!msg) return -NLE_NOMEM;
    struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = port_index };
    if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) goto fail;
    struct nlattr *spec = nla_nest_start(msg, IFLA_AF_SPEC);
    if (!spec) goto fail;
    struct bridge_vlan_info vinfo = { .flags = 0, .vid = vid };
    if (pvid) vinfo.flags |= BRIDGE_VLAN_INFO_PVID;
    if (untagged) vinfo.flags |= BRIDGE_VLAN_INFO_UNTAGGED;
    if (nla_put(msg, IFLA_BRIDGE_VLAN_INFO, sizeof vinfo, &vinfo) < 0) goto fail;
    nla_nest_end(msg, spec);
    return send_and_ack(sock, msg);
fail:
    nlmsg_free(msg);
    return -NLE_NOMEM;
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

int cshim_recvmmsg(int fd, struct iovec *vectors, struct sockaddr_storage *names, unsigned int *lengths,
                   unsigned int *segments, unsigned int count) {
    struct mmsghdr headers[64];
    // Room for the UDP_GRO control message (an int) of each datagram.
    char control[64][CMSG_SPACE(sizeof(int))];
    if (count > 64) count = 64;
    memset(headers, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_name = &names[i];
        headers[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        headers[i].msg_hdr.msg_control = control[i];
        headers[i].msg_hdr.msg_controllen = sizeof(control[i]);
    }
    int n = recvmmsg(fd, headers, count, MSG_DONTWAIT, NULL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        lengths[i] = headers[i].msg_len;
        segments[i] = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&headers[i].msg_hdr); c; c = CMSG_NXTHDR(&headers[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                int size;
                memcpy(&size, CMSG_DATA(c), sizeof(size));
                segments[i] = (unsigned int)size;
            }
        }
    }
    return n;
}

/// Sends a GSO message's datagrams one by one: each vector is cut every `segment` bytes.
static int send_segments(int fd, const struct msghdr *message, unsigned short segment) {
    for (size_t v = 0; v < message->msg_iovlen; v++) {
        const char *base = message->msg_iov[v].iov_base;
        size_t length = message->msg_iov[v].iov_len;
        for (size_t offset = 0; offset < length; offset += segment) {
            size_t piece = length - offset < segment ? length - offset : segment;
            if (sendto(fd, base + offset, piece, MSG_DONTWAIT, message->msg_name, message->msg_namelen) < 0) return -errno;
        }
    }
    return 0;
}

int cshim_sendmmsg(int fd, struct iovec *vectors, const unsigned int *vectorCounts, const struct sockaddr_storage *names,
                   const unsigned int *nameLengths, const unsigned short *segments, unsigned int count) {
    struct mmsghdr headers[64];
    char control[64][CMSG_SPACE(sizeof(uint16_t))];
    if (count > 64) count = 64;
    memset(headers, 0, sizeof(struct mmsghdr) * count);
    size_t offset = 0;
    for (unsigned int i = 0; i < count; i++) {
        headers[i].msg_hdr.msg_iov = &vectors[offset];
        headers[i].msg_hdr.msg_iovlen = vectorCounts[i];
        offset += vectorCounts[i];
        headers[i].msg_hdr.msg_name = (void *)&names[i];
        headers[i].msg_hdr.msg_namelen = nameLengths[i];
        if (segments[i] > 0) {
            headers[i].msg_hdr.msg_control = control[i];
            headers[i].msg_hdr.msg_controllen = sizeof(control[i]);
            struct cmsghdr *c = CMSG_FIRSTHDR(&headers[i].msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t size = segments[i];
            memcpy(CMSG_DATA(c), &size, sizeof(size));
        }
    }
    unsigned int done = 0, refused = 0;
    while (done < count) {
        int n = sendmmsg(fd, headers + done, count - done, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            // EAGAIN: the socket buffer is full; the rest is dropped, as a full NIC queue would.
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) break;
            // EIO/EINVAL on a GSO message: the route cannot segment; send its datagrams singly.
            // Any other refusal of one message: skip it and go on with the others.
            int rc = -errno;
            if (segments[done] > 0 && (errno == EIO || errno == EINVAL)) rc = send_segments(fd, &headers[done].msg_hdr, segments[done]);
            if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -ENOBUFS) break;
            if (rc != 0) refused += 1;
            done += 1;
            continue;
        }
        done += (unsigned int)n;
    }
    return (int)(done - refused);
}

int cshim_udp_enable_gro(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0 ? 0 : -errno;
}

int cshim_set_reuseport(int fd) {
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0 ? 0 : -errno;
}

int cshim_set_dont_fragment(int fd, int ipv6) {
    int value = ipv6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO;
    int rc = ipv6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &value, sizeof(value))
                  : setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &value, sizeof(value));
    return rc == 0 ? 0 : -errno;
}

int cshim_path_mtu(int fd, int ipv6) {
    int mtu = 0;
    socklen_t length = sizeof(mtu);
    int rc = ipv6 ? getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &length)
                  : getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &length);
    return rc == 0 ? mtu : -errno;
}

int cshim_peer_credentials(int fd, int *pid, unsigned int *uid, unsigned int *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -errno;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int cshim_spawn(const char *file, char *const argv[], char *const envp[], const int *fds, int nfds,
                int cgroup_fd, int new_session, int *pid_out) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) return errno;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    // Fork semantics (no CLONE_VM), but the parent waits until the child has exec'd or failed.
    args.flags = CLONE_VFORK | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) args.cgroup = (uint64_t)cgroup_fd;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    int join = 0;
    if (pid < 0 && (errno == ENOSYS || errno == EINVAL || errno == E2BIG)) {
        // A kernel before 5.7 (no CLONE_INTO_CGROUP) or 5.3 (no clone3): fork, and let the child
        // move itself into the cgroup before it execs.
        join = cgroup_fd >= 0;
        pid = fork();
    }
    if (pid < 0) {
        int error = errno;
        close(report[0]);
        close(report[1]);
        return error;
    }
    if (pid == 0) {
        if (join) {
            char digits[16];
            int n = 0;
            for (pid_t self = getpid(); self > 0 && n < 15; self /= 10) digits[n++] = (char)('0' + self % 10);
            char text[16];
            for (int i = 0; i < n; i++) text[i] = digits[n - 1 - i];
            int procs = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
            if (procs < 0 || write(procs, text, (size_t)n) != n) goto failed;
            close(procs);
        }
        // The child: one thread, a copy of a multithreaded parent. Only async-signal-safe calls.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (new_session) setsid();
        int moved[64];
        if (nfds > 64) nfds = 64;
        // First out of the way of the targets, then into place (dup2 clears close-on-exec).
        for (int i = 0; i < nfds; i++) moved[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, nfds + 3);
        for (int i = 0; i < nfds; i++) {
            if (moved[i] < 0 || dup2(moved[i], i) < 0) goto failed;
        }
        // Nothing else of the parent's crosses exec (the report pipe stays open until then).
        syscall(SYS_close_range, (unsigned)nfds, ~0U, CLOSE_RANGE_CLOEXEC);
        execvpe(file, argv, envp);
    failed:;
        int error = errno;
        ssize_t ignored = write(report[1], &error, sizeof error);
        (void)ignored;
        _exit(127);
    }
    close(report[1]);
    int error = 0;
    ssize_t n;
    // After a plain fork the parent did not wait for the exec: the report pipe's end does.
    do { n = read(report[0], &error, sizeof error); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof error) {
        waitpid((pid_t)pid, NULL, 0);
        return error;
    }
    *pid_out = (int)pid;
    return 0;
}
