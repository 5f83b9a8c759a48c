// The latency floor of a userspace TUN/UDP tunnel, for bench/proxy.sh: one thread that moves
// each packet with one poll, one read and one send, and does nothing else (no headers, no
// batching, no flow table). Whatever a real tunnel adds sits above what this one measures.
//   relay-floor TUN LOCAL_IPV4 PORT REMOTE_IPV4
// Creates TUN (IFF_TUN | IFF_NO_PI) and relays until killed; the caller assigns its address.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void fail(const char *what) {
  fprintf(stderr, "relay-floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: relay-floor TUN LOCAL_IPV4 PORT REMOTE_IPV4\n");
    return 2;
  }
  int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (tun < 0) fail("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, argv[1], IFNAMSIZ - 1);
  if (ioctl(tun, TUNSETIFF, &ifr) < 0) fail("TUNSETIFF");
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (udp < 0) fail("socket");
  struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[3]))};
  struct sockaddr_in remote = local;
  if (inet_pton(AF_INET, argv[2], &local.sin_addr) != 1 || inet_pton(AF_INET, argv[4], &remote.sin_addr) != 1) {
    fprintf(stderr, "relay-floor: bad IPv4 address\n");
    return 2;
  }
  if (bind(udp, (struct sockaddr *)&local, sizeof local) < 0) fail("bind");
  static char buffer[65536];
  struct pollfd fds[2] = {{.fd = tun, .events = POLLIN}, {.fd = udp, .events = POLLIN}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      fail("poll");
    }
    if (fds[0].revents & POLLIN) {
      ssize_t n = read(tun, buffer, sizeof buffer);
      if (n > 0) sendto(udp, buffer, (size_t)n, 0, (struct sockaddr *)&remote, sizeof remote);
    }
    if (fds[1].revents & POLLIN) {
      ssize_t n = recv(udp, buffer, sizeof buffer, 0);
      if (n > 0 && write(tun, buffer, (size_t)n) < 0 && errno != EIO) fail("write");
    }
  }
}
