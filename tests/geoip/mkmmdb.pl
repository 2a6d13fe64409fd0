#!/usr/bin/perl
# tests/geoip/mkmmdb.pl - writes a tiny MaxMind DB for the tests (Debian's
# libmaxmind-db-writer-perl), with country.iso_code as GeoLite2-Country has it:
#   127.0.0.0/8      AQ   (loopback: what the system tests' clients come from)
#   192.0.2.0/24     NL   (TEST-NET-1, RFC 5737)
#   198.51.100.0/24  JP   (TEST-NET-2)
#   2001:db8::/32    FR   (the IPv6 documentation prefix)
#
#   perl tests/geoip/mkmmdb.pl OUT.mmdb
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: $0 OUT.mmdb\n";
my %types = (country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => 6,
    record_size              => 24,
    database_type            => 'Test-Country',
    languages                => ['en'],
    description              => { en => 'url shortener test countries' },
    map_key_type_callback    => sub { $types{ $_[0] } },
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => 1,
);
my %nets = (
    '127.0.0.0/8'     => 'AQ',
    '192.0.2.0/24'    => 'NL',
    '198.51.100.0/24' => 'JP',
    '2001:db8::/32'   => 'FR',
);
for my $net (sort keys %nets) {
    $tree->insert_network($net, { country => { iso_code => $nets{$net} } });
}
open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot write $out: $!\n";
