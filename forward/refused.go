package forward

import "net/netip"

// Refused reports whether ip is not globally routable, which is exactly when
// forwarding to it is refused unless private forwarding is allowed.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4 address
// they carry, and IPv6 zones are ignored.
//
// IPv4 is refused by block list (IANA special-purpose registry, where it says
// "not globally reachable", plus ranges that are reserved or not unicast):
//
//	0.0.0.0/8        "this network", incl. the unspecified 0.0.0.0
//	10.0.0.0/8       RFC 1918
//	100.64.0.0/10    CGNAT shared space
//	127.0.0.0/8      loopback
//	169.254.0.0/16   link-local (cloud metadata lives here)
//	172.16.0.0/12    RFC 1918
//	192.0.0.0/24     IETF protocol assignments (incl. its two anycast /32s:
//	                 refusing them costs nothing and keeps the rule simple)
//	192.0.2.0/24     TEST-NET-1
//	192.168.0.0/16   RFC 1918
//	198.18.0.0/15    benchmarking
//	198.51.100.0/24  TEST-NET-2
//	203.0.113.0/24   TEST-NET-3
//	224.0.0.0/4      multicast
//	240.0.0.0/4      reserved, incl. the broadcast 255.255.255.255
//
// IPv6 is decided by allow list, because only 2000::/3 is allocated as global
// unicast: everything outside it is refused — ::, ::1, the deprecated
// IPv4-compatible ::/96, ::ffff:0:0:0/96, 100::/64 discard, 5f00::/16 SRv6,
// fc00::/7 ULA, fe80::/10 link-local, fec0::/10 site-local, ff00::/8
// multicast — except the NAT64 well-known prefix 64:ff9b::/96, which is
// judged by the IPv4 address embedded in its last 32 bits. Inside 2000::/3
// these are refused too:
//
//	2001::/23      IETF protocol assignments (Teredo, ORCHID, AMT, …)
//	2001:db8::/32  documentation
//	3fff::/20      documentation (RFC 9637)
//	2002::/16      6to4, only when the IPv4 address it embeds is refused
//
// 64:ff9b:1::/48 (local-use NAT64) is outside 2000::/3 and so refused.
func Refused(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	// Prefix.Contains never matches a zoned address, so drop the zone first.
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		for _, p := range refusedV4 {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	if nat64.Contains(ip) {
		return Refused(embeddedV4(ip, 12))
	}
	if !globalUnicast.Contains(ip) {
		return true
	}
	for _, p := range refusedV6 {
		if p.Contains(ip) {
			return true
		}
	}
	if sixToFour.Contains(ip) {
		return Refused(embeddedV4(ip, 2))
	}
	return false
}

// embeddedV4 returns the IPv4 address stored in ip's bytes [at, at+4).
func embeddedV4(ip netip.Addr, at int) netip.Addr {
	b := ip.As16()
	return netip.AddrFrom4([4]byte(b[at : at+4]))
}

var (
	refusedV4 = prefixes(
		"0.0.0.0/8",
		"10.0.0.0/8",
		"100.64.0.0/10",
		"127.0.0.0/8",
		"169.254.0.0/16",
		"172.16.0.0/12",
		"192.0.0.0/24",
		"192.0.2.0/24",
		"192.168.0.0/16",
		"198.18.0.0/15",
		"198.51.100.0/24",
		"203.0.113.0/24",
		"224.0.0.0/4",
		"240.0.0.0/4",
	)
	refusedV6 = prefixes(
		"2001::/23",
		"2001:db8::/32",
		"3fff::/20",
	)
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}
