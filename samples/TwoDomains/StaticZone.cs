using System.Net;
using Mail.Protocols.Dns;

namespace TwoDomains;

/// <summary>A tiny fixed DNS zone for the sample: each domain has one MX with one address.</summary>
internal sealed class StaticZone(Dictionary<string, (string Mx, IPAddress Address)> zone) : IDnsResolver
{
    public ValueTask<MxLookupResult> LookupMxAsync(string domain, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(zone.TryGetValue(domain, out var entry)
            ? new MxLookupResult(DnsLookupStatus.Found, [new MxHost(entry.Mx, 10)])
            : new MxLookupResult(DnsLookupStatus.NoSuchDomain, []));

    public ValueTask<AddressLookupResult> LookupAddressesAsync(string host, CancellationToken cancellationToken = default)
    {
        foreach (var (mx, address) in zone.Values)
        {
            if (string.Equals(mx, host, StringComparison.OrdinalIgnoreCase))
            {
                return ValueTask.FromResult(new AddressLookupResult(DnsLookupStatus.Found, [address]));
            }
        }
        return ValueTask.FromResult(new AddressLookupResult(DnsLookupStatus.NoSuchDomain, []));
    }
}
