using System.Net;

namespace Mail.Protocols.Dns;

/// <summary>The DNS lookups outbound delivery needs (RFC 5321 §5, RFC 7505).</summary>
public interface IDnsResolver
{
    /// <summary>Looks up the mail exchangers of <paramref name="domain"/>, in preference order.</summary>
    ValueTask<MxLookupResult> LookupMxAsync(string domain, CancellationToken cancellationToken = default);

    /// <summary>Looks up the A and AAAA records of <paramref name="host"/>.</summary>
    ValueTask<AddressLookupResult> LookupAddressesAsync(string host, CancellationToken cancellationToken = default);
}

/// <summary>The outcome class of a DNS lookup.</summary>
public enum DnsLookupStatus
{
    /// <summary>Records were found.</summary>
    Found,
    /// <summary>NXDOMAIN: the domain does not exist (permanent).</summary>
    NoSuchDomain,
    /// <summary>The domain publishes a null MX (RFC 7505): it accepts no mail (permanent).</summary>
    NullMx,
    /// <summary>The domain exists but has no records of the asked type (for MX: use the implicit MX).</summary>
    NoRecords,
    /// <summary>SERVFAIL, timeout or network error: try again later, never bounce for it.</summary>
    TemporaryFailure,
}

/// <summary>A mail exchanger.</summary>
/// <param name="Host">The exchanger's host name.</param>
/// <param name="Preference">Its preference (lower is tried first).</param>
public sealed record MxHost(string Host, ushort Preference);

/// <summary>The result of an MX lookup.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Hosts">The exchangers in the order to try them (preference, random among equals); empty unless <see cref="DnsLookupStatus.Found"/>.</param>
/// <param name="Error">A description of a failure, for logs and DSNs.</param>
public sealed record MxLookupResult(DnsLookupStatus Status, IReadOnlyList<MxHost> Hosts, string? Error = null);

/// <summary>The result of an address lookup.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Addresses">IPv6 and IPv4 addresses found.</param>
/// <param name="Error">A description of a failure.</param>
public sealed record AddressLookupResult(DnsLookupStatus Status, IReadOnlyList<IPAddress> Addresses, string? Error = null);
