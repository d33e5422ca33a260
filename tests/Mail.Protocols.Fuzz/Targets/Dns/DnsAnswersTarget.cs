using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;
using Mail.Protocols.Dns;
using Mail.Protocols.Smtp.Dns;

namespace Mail.Protocols.Fuzz.Targets.Dns;

/// <summary>
/// A DNS message, read by DnsClient's own reader (<see cref="DnsWire"/>), as the answer to an MX query and to the AAAA and A
/// queries of a host, through <see cref="DnsClientResolver.InterpretMx"/> and <see cref="DnsClientResolver.InterpretAddresses"/>.
/// A message DnsClient refuses never reaches them (the lookup fails as a temporary failure). Properties: nothing throws; the
/// status follows the response code (NXDOMAIN: no such domain; another error: temporary; none: by the records); an MX answer
/// without MX records is "no records" (CNAMEs only, a loop, included), a single "." a null MX; exchangers found are 1 to
/// <see cref="DnsClientResolver.MaxExchangers"/>, valid host names (<see cref="DnsClientResolver.IsHostName"/>), each once at the best
/// preference it has in the answer, in preference order, and the same set whatever the random order among equals (unless the
/// cut at the cap falls among equals: then the same preferences); addresses
/// found are distinct, of the record's family, at most <see cref="DnsClientResolver.MaxAddressesPerFamily"/> of each, IPv6 first,
/// none unspecified, broadcast or multicast, each one the answer holds; a result has hosts or addresses only when found.
/// </summary>
internal sealed class DnsAnswersTarget : IFuzzTarget
{
    private const string Domain = "example.test";

    public string Name => "DnsAnswers";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (DnsWire.Read(input.ToArray()) is not { } response)
        {
            return;
        }

        var code = response.Header.ResponseCode;
        var mx = DnsClientResolver.InterpretMx(Domain, response, new Random(1));
        CheckMx(response, code, mx);
        var other = DnsClientResolver.InterpretMx(Domain, response, new Random(2));
        Fuzz.Equal(mx.Status, other.Status, "the MX status with another random order");
        // Only the order among equal preferences is random, and which of them the cut keeps when it falls inside a preference.
        Fuzz.Check(mx.Hosts.Select(h => h.Preference).SequenceEqual(other.Hosts.Select(h => h.Preference)), "another random order gives other preferences");
        if (mx.Hosts.Count < DnsClientResolver.MaxExchangers)
        {
            // Host names compare without case: "A.example.test" and "a.example.test" are one exchanger, either spelling kept.
            Fuzz.Check(mx.Hosts.Select(h => (h.Preference, h.Host.ToUpperInvariant())).Order().SequenceEqual(other.Hosts.Select(h => (h.Preference, h.Host.ToUpperInvariant())).Order()),
                "another random order gives other exchangers");
        }

        CheckAddresses(response, DnsClientResolver.InterpretAddresses("mail." + Domain, response, null, response, null));
        var sixOnly = DnsClientResolver.InterpretAddresses("mail." + Domain, response, null, null, "timed out");
        Fuzz.Check(sixOnly.Addresses.All(a => a.AddressFamily == AddressFamily.InterNetworkV6), "an IPv4 address from an AAAA answer");
        Fuzz.Check(sixOnly.Status != DnsLookupStatus.NoRecords, "\"no records\" though the A query was not answered");
    }

    private static void CheckMx(IDnsQueryResponse response, DnsHeaderResponseCode code, MxLookupResult mx)
    {
        Fuzz.Check(mx.Status == DnsLookupStatus.Found || mx.Hosts.Count == 0, $"{mx.Status} with exchangers");
        if (code == DnsHeaderResponseCode.NotExistentDomain)
        {
            Fuzz.Equal(DnsLookupStatus.NoSuchDomain, mx.Status, "the MX status of NXDOMAIN");
            return;
        }

        if (code != DnsHeaderResponseCode.NoError)
        {
            Fuzz.Equal(DnsLookupStatus.TemporaryFailure, mx.Status, $"the MX status of {code}");
            return;
        }

        var records = response.Answers.MxRecords().ToList();
        if (records.Count == 0)
        {
            Fuzz.Equal(DnsLookupStatus.NoRecords, mx.Status, "the MX status of an answer without MX records");
            return;
        }

        if (records.Count == 1 && records[0].Exchange.Value is "." or "")
        {
            Fuzz.Equal(DnsLookupStatus.NullMx, mx.Status, "the MX status of a null MX");
            return;
        }

        Fuzz.Check(mx.Status is DnsLookupStatus.Found or DnsLookupStatus.TemporaryFailure, $"the MX status {mx.Status} of an answer with MX records");
        var best = records.Select(r => (Host: r.Exchange.Value.TrimEnd('.'), r.Preference))
            .Where(r => DnsClientResolver.IsHostName(r.Host))
            .GroupBy(r => r.Host, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Min(r => r.Preference), StringComparer.OrdinalIgnoreCase);
        Fuzz.Equal(best.Count > 0, mx.Status == DnsLookupStatus.Found, "found, when an exchanger names a host");
        Fuzz.Check(mx.Hosts.Count <= DnsClientResolver.MaxExchangers, $"{mx.Hosts.Count} exchangers");
        Fuzz.Equal(Math.Min(best.Count, DnsClientResolver.MaxExchangers), mx.Hosts.Count, "the number of exchangers");
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        ushort previous = 0;
        foreach (var host in mx.Hosts)
        {
            Fuzz.Check(DnsClientResolver.IsHostName(host.Host), $"the exchanger \"{host.Host}\" is no host name");
            Fuzz.Check(seen.Add(host.Host), $"the exchanger \"{host.Host}\" comes twice");
            Fuzz.Check(best.TryGetValue(host.Host, out var preference) && preference == host.Preference, $"the exchanger \"{host.Host}\" is not at its best preference");
            Fuzz.Check(host.Preference >= previous, "exchangers out of preference order");
            previous = host.Preference;
        }

        // The cut keeps the best: no exchanger left out is preferred to one kept.
        if (mx.Hosts.Count > 0)
        {
            Fuzz.Check(best.Where(b => !seen.Contains(b.Key)).All(b => b.Value >= mx.Hosts[^1].Preference), "an exchanger left out is preferred to one kept");
        }
    }

    private static void CheckAddresses(IDnsQueryResponse response, AddressLookupResult result)
    {
        Fuzz.Check(result.Status == DnsLookupStatus.Found || result.Addresses.Count == 0, $"{result.Status} with addresses");
        var code = response.Header.ResponseCode;
        var expected = code switch
        {
            DnsHeaderResponseCode.NoError => result.Addresses.Count > 0 ? DnsLookupStatus.Found : DnsLookupStatus.NoRecords,
            DnsHeaderResponseCode.NotExistentDomain => DnsLookupStatus.NoSuchDomain,
            _ => DnsLookupStatus.TemporaryFailure,
        };
        Fuzz.Equal(expected, result.Status, $"the address status of {code}");
        Fuzz.Equal(result.Addresses.Count, result.Addresses.Distinct().Count(), "distinct addresses");
        var six = result.Addresses.TakeWhile(a => a.AddressFamily == AddressFamily.InterNetworkV6).ToList();
        var four = result.Addresses.Skip(six.Count).ToList();
        Fuzz.Check(four.All(a => a.AddressFamily == AddressFamily.InterNetwork), "IPv6 addresses after IPv4 ones");
        Fuzz.Check(six.Count <= DnsClientResolver.MaxAddressesPerFamily && four.Count <= DnsClientResolver.MaxAddressesPerFamily, "more addresses of a family than the cap");
        var answered = response.Answers.AaaaRecords().Select(r => r.Address).Concat(response.Answers.ARecords().Select(r => r.Address)).ToHashSet();
        foreach (var address in result.Addresses)
        {
            Fuzz.Check(answered.Contains(address), $"{address} is not in the answer");
            Fuzz.Check(!address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.Broadcast) && !address.IsIPv6Multicast
                && !(address.AddressFamily == AddressFamily.InterNetwork && address.GetAddressBytes()[0] is 0 or >= 224), $"{address} is no host's address");
        }
    }
}
