#ifndef NETLAB_CPCAP_SHIM_H
#define NETLAB_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
