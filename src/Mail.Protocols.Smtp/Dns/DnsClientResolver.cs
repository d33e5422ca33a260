using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Mail.Protocols.Dns;

namespace Mail.Protocols.Smtp.Dns;

/// <summary>Settings of <see cref="DnsClientResolver"/>.</summary>
public sealed class DnsResolverOptions
{
    /// <summary>Name servers to ask (address and port). Empty (the default): the system's resolvers.</summary>
    public IList<IPEndPoint> NameServers { get; } = [];

    /// <summary>How long one query may take. Defaults to 5 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after a timeout. Defaults to 2.</summary>
    public int Retries { get; set; } = 2;

    /// <summary>Cache answers for their TTL. Defaults to true.</summary>
    public bool UseCache { get; set; } = true;
}

/// <summary>
/// The <see cref="IDnsResolver"/> outbound delivery uses, on DnsClient: MX in preference order (random among
/// equal preferences), null MX (RFC 7505), NXDOMAIN and "no records" told apart from temporary failures
/// (SERVFAIL, timeouts, network errors), which must never turn into a bounce.
/// </summary>
public sealed class DnsClientResolver : IDnsResolver
{
    private readonly LookupClient _client;

    /// <summary>Creates a resolver.</summary>
    public DnsClientResolver(DnsResolverOptions? options = null)
    {
        options ??= new DnsResolverOptions();
        var lookupOptions = options.NameServers.Count > 0
            ? new LookupClientOptions([.. options.NameServers.Select(e => new NameServer(e))])
            : new LookupClientOptions();
        lookupOptions.Timeout = options.Timeout;
        lookupOptions.Retries = options.Retries;
        lookupOptions.UseCache = options.UseCache;
        lookupOptions.ThrowDnsErrors = false;
        lookupOptions.ContinueOnDnsError = false;
        lookupOptions.ContinueOnEmptyResponse = false;
        lookupOptions.UseTcpFallback = true;
        _client = new LookupClient(lookupOptions);
    }

    /// <inheritdoc />
    public async ValueTask<MxLookupResult> LookupMxAsync(string domain, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        var (response, failure) = await QueryAsync(domain, QueryType.MX, cancellationToken).ConfigureAwait(false);
        return response is null ? new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], failure) : InterpretMx(domain, response, Random.Shared);
    }

    /// <summary>
    /// What an MX answer means for delivery, without I/O (so that it can be tested and fuzzed on any answer). NXDOMAIN is
    /// <see cref="DnsLookupStatus.NoSuchDomain"/>, any other error code a temporary failure; an answer without MX records is
    /// <see cref="DnsLookupStatus.NoRecords"/> (the implicit MX, RFC 5321 §5.1), a single MX of "." a null MX (RFC 7505).
    /// Otherwise the exchangers in preference order, random among equal preferences (<paramref name="random"/>): each name
    /// once (at its best preference), "." and names that are no host name (<see cref="IsHostName"/>: an address, a label
    /// with characters DNS names of hosts do not have) left out, at most <see cref="MaxExchangers"/>; when none is left
    /// the lookup is a temporary failure, as Postfix treats a malformed MX, never a bounce nor the implicit MX.
    /// </summary>
    internal static MxLookupResult InterpretMx(string domain, IDnsQueryResponse response, Random random)
    {
        switch (response.Header.ResponseCode)
        {
            case DnsHeaderResponseCode.NoError:
                break;
            case DnsHeaderResponseCode.NotExistentDomain:
                return new MxLookupResult(DnsLookupStatus.NoSuchDomain, [], $"{domain}: no such domain");
            default:
                return new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], $"{domain}: {response.Header.ResponseCode}");
        }
        var records = response.Answers.MxRecords().ToList();
        if (records.Count == 0)
        {
            return new MxLookupResult(DnsLookupStatus.NoRecords, []);
        }
        // RFC 7505: a single MX whose exchange is "." says the domain accepts no mail.
        if (records.Count == 1 && IsRoot(records[0].Exchange))
        {
            return new MxLookupResult(DnsLookupStatus.NullMx, [], $"{domain} publishes a null MX and accepts no mail");
        }
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var hosts = records.Where(r => !IsRoot(r.Exchange))
            .Select(r => new MxHost(r.Exchange.Value.TrimEnd('.'), r.Preference))
            .Where(h => IsHostName(h.Host))
            .GroupBy(h => h.Preference)
            .OrderBy(g => g.Key)
            .SelectMany(g => g.OrderBy(_ => random.Next())) // RFC 5321 §5.1: random among equal preferences
            .Where(h => seen.Add(h.Host))
            .Take(MaxExchangers)
            .ToList();
        return hosts.Count > 0
            ? new MxLookupResult(DnsLookupStatus.Found, hosts)
            : new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], $"{domain}: no MX record names a valid host");
    }

    /// <summary>The most exchangers of one domain tried in a round (Postfix tries 5 addresses): more cost only timeouts.</summary>
    internal const int MaxExchangers = 10;

    /// <summary>The most addresses of each family (IPv6, IPv4) of one host tried.</summary>
    internal const int MaxAddressesPerFamily = 8;

    /// <summary>
    /// Whether an exchanger's name (without its trailing dot) can be a host's: 1 to 253 characters, labels of 1 to 63
    /// letters, digits, '-' or '_' (which some hosts' names have), and not a dotted address, which an MX must not be
    /// (RFC 5321 §5.1) and delivery would connect to without asking DNS.
    /// </summary>
    internal static bool IsHostName(string name)
    {
        if (name.Length is 0 or > 253 || IPAddress.TryParse(name, out _))
        {
            return false;
        }
        var label = 0;
        foreach (var c in name)
        {
            if (c == '.')
            {
                if (label == 0)
                {
                    return false;
                }
                label = 0;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            {
                if (++label > 63)
                {
                    return false;
                }
            }
            else
            {
                return false;
            }
        }
        return label > 0;
    }

    /// <inheritdoc />
    public async ValueTask<AddressLookupResult> LookupAddressesAsync(string host, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return new AddressLookupResult(DnsLookupStatus.Found, [literal]);
        }
        var v6 = QueryAsync(host, QueryType.AAAA, cancellationToken);
        var v4 = QueryAsync(host, QueryType.A, cancellationToken);
        var (six, sixFailure) = await v6.ConfigureAwait(false);
        var (four, fourFailure) = await v4.ConfigureAwait(false);
        return InterpretAddresses(host, six, sixFailure, four, fourFailure);
    }

    /// <summary>
    /// What the AAAA and A answers (null: not answered, with the reason) mean, without I/O: the addresses, IPv6 first, each
    /// once, at most <see cref="MaxAddressesPerFamily"/> of each family, without those no host can be reached at (unspecified,
    /// 0.0.0.0/8, broadcast, multicast); else NXDOMAIN, "no records" when both answered without error, or a temporary failure.
    /// </summary>
    internal static AddressLookupResult InterpretAddresses(string host, IDnsQueryResponse? six, string? sixFailure, IDnsQueryResponse? four, string? fourFailure)
    {
        var addresses = new List<IPAddress>();
        if (six?.Header.ResponseCode == DnsHeaderResponseCode.NoError)
        {
            addresses.AddRange(six.Answers.AaaaRecords().Select(r => r.Address).Where(IsReachable).Distinct().Take(MaxAddressesPerFamily));
        }
        if (four?.Header.ResponseCode == DnsHeaderResponseCode.NoError)
        {
            addresses.AddRange(four.Answers.ARecords().Select(r => r.Address).Where(IsReachable).Distinct().Take(MaxAddressesPerFamily));
        }
        if (addresses.Count > 0)
        {
            return new AddressLookupResult(DnsLookupStatus.Found, addresses);
        }
        if (six?.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain || four?.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
        {
            return new AddressLookupResult(DnsLookupStatus.NoSuchDomain, [], $"{host}: no such domain");
        }
        if (six?.Header.ResponseCode == DnsHeaderResponseCode.NoError && four?.Header.ResponseCode == DnsHeaderResponseCode.NoError)
        {
            return new AddressLookupResult(DnsLookupStatus.NoRecords, [], $"{host}: no A or AAAA records");
        }
        return new AddressLookupResult(DnsLookupStatus.TemporaryFailure, [], fourFailure ?? sixFailure ?? $"{host}: {four?.Header.ResponseCode}");
    }

    // An address a host can have: not unspecified (connecting to it reaches this machine), 0.0.0.0/8, broadcast or multicast.
    private static bool IsReachable(IPAddress address) =>
        !address.Equals(IPAddress.IPv6Any) && !address.IsIPv6Multicast
        && (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork || address.GetAddressBytes() is var b && b[0] != 0 && b[0] < 224);

    private static bool IsRoot(DnsString name) => name.Value is "." or "";

    // A response, or null with the reason when the server could not be asked (timeout, network error).
    private async Task<(IDnsQueryResponse? Response, string? Failure)> QueryAsync(string name, QueryType type, CancellationToken cancellationToken)
    {
        try
        {
            return (await _client.QueryAsync(name, type, QueryClass.IN, cancellationToken).ConfigureAwait(false), null);
        }
        catch (DnsResponseException ex)
        {
            return (null, $"{name}: {ex.Code}");
        }
    }
}
