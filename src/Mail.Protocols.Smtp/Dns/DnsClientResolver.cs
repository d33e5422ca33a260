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
        if (response is null)
        {
            return new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], failure);
        }
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
        var hosts = records.Where(r => !IsRoot(r.Exchange))
            .GroupBy(r => r.Preference)
            .OrderBy(g => g.Key)
            .SelectMany(g => g.OrderBy(_ => Random.Shared.Next())) // RFC 5321 §5.1: random among equal preferences
            .Select(r => new MxHost(r.Exchange.Value.TrimEnd('.'), r.Preference))
            .ToList();
        return new MxLookupResult(DnsLookupStatus.Found, hosts);
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
        var addresses = new List<IPAddress>();
        if (six?.Header.ResponseCode == DnsHeaderResponseCode.NoError)
        {
            addresses.AddRange(six.Answers.AaaaRecords().Select(r => r.Address));
        }
        if (four?.Header.ResponseCode == DnsHeaderResponseCode.NoError)
        {
            addresses.AddRange(four.Answers.ARecords().Select(r => r.Address));
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
