using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Mail.Protocols.Dns;
using Mail.Protocols.Smtp.Dns;

namespace Mail.Protocols.Smtp.Tests.Dns;

/// <summary>
/// How the resolver reads an answer (<see cref="DnsClientResolver.InterpretMx"/>, <see cref="DnsClientResolver.InterpretAddresses"/>),
/// on answers a real server is unlikely to give: names that are no host's, addresses, repeats, floods of records.
/// </summary>
public sealed class DnsAnswerInterpretationTests
{
    [Fact]
    public void An_exchanger_that_is_an_address_or_no_host_name_is_left_out()
    {
        var result = DnsClientResolver.InterpretMx("example.test", Answer(Mx(10, "192.0.2.1."), Mx(20, "bad name\\032.test."), Mx(30, "mail.example.test.")), new Random(1));
        Assert.Equal(DnsLookupStatus.Found, result.Status);
        Assert.Equal(["mail.example.test"], result.Hosts.Select(h => h.Host));
    }

    [Fact]
    public void When_no_exchanger_names_a_host_the_lookup_is_a_temporary_failure_not_the_implicit_mx()
    {
        var result = DnsClientResolver.InterpretMx("example.test", Answer(Mx(10, "127.0.0.1."), Mx(20, "-.-..test.")), new Random(1));
        Assert.Equal(DnsLookupStatus.TemporaryFailure, result.Status);
        Assert.Empty(result.Hosts);
    }

    [Fact]
    public void An_exchanger_listed_twice_is_tried_once_at_its_best_preference()
    {
        var result = DnsClientResolver.InterpretMx("example.test", Answer(Mx(30, "a.example.test."), Mx(10, "A.example.test."), Mx(20, "b.example.test.")), new Random(1));
        Assert.Equal([("A.example.test", (ushort)10), ("b.example.test", (ushort)20)], result.Hosts.Select(h => (h.Host, h.Preference)));
    }

    [Fact]
    public void A_flood_of_exchangers_is_cut_to_the_first_by_preference()
    {
        var records = Enumerable.Range(0, 500).Select(i => Mx((ushort)(1000 - i), $"mx{i}.example.test.")).ToArray();
        var result = DnsClientResolver.InterpretMx("example.test", Answer(records), new Random(1));
        Assert.Equal(DnsClientResolver.MaxExchangers, result.Hosts.Count);
        Assert.Equal(Enumerable.Range(0, DnsClientResolver.MaxExchangers).Select(i => (ushort)(501 + i)), result.Hosts.Select(h => h.Preference));
    }

    [Fact]
    public void Only_cnames_in_the_answer_are_no_records()
    {
        var loop = Answer(new CNameRecord(Info("example.test", ResourceRecordType.CNAME), DnsString.Parse("other.test.")),
            new CNameRecord(Info("other.test", ResourceRecordType.CNAME), DnsString.Parse("example.test.")));
        Assert.Equal(DnsLookupStatus.NoRecords, DnsClientResolver.InterpretMx("example.test", loop, new Random(1)).Status);
    }

    [Fact]
    public void Addresses_no_host_can_have_are_left_out_and_each_family_is_capped()
    {
        var six = Answer([.. new[] { "::", "ff02::1" }.Concat(Enumerable.Range(1, 20).Select(i => $"2001:db8::{i:x}")).Select(a => Aaaa(a))]);
        var four = Answer(A("0.0.0.0"), A("0.1.2.3"), A("255.255.255.255"), A("224.0.0.1"), A("192.0.2.1"), A("192.0.2.1"), A("127.0.0.1"));
        var result = DnsClientResolver.InterpretAddresses("mail.example.test", six, null, four, null);
        Assert.Equal(DnsLookupStatus.Found, result.Status);
        Assert.Equal([.. Enumerable.Range(1, DnsClientResolver.MaxAddressesPerFamily).Select(i => IPAddress.Parse($"2001:db8::{i:x}")), IPAddress.Parse("192.0.2.1"), IPAddress.Loopback],
            result.Addresses);
    }

    [Fact]
    public void Only_unusable_addresses_are_no_records()
    {
        var result = DnsClientResolver.InterpretAddresses("mail.example.test", Answer(), null, Answer(A("0.0.0.0")), null);
        Assert.Equal(DnsLookupStatus.NoRecords, result.Status);
    }

    [Theory]
    [InlineData("mail.example.test", true)]
    [InlineData("_spf.example.test", true)]
    [InlineData("xn--bcher-kva.example", true)]
    [InlineData("localhost", true)]
    [InlineData("", false)]
    [InlineData("a..b", false)]
    [InlineData(".a", false)]
    [InlineData("a b", false)]
    [InlineData("a\r\nb", false)]
    [InlineData("[192.0.2.1]", false)]
    [InlineData("192.0.2.1", false)]
    [InlineData("::1", false)]
    [InlineData("bücher.example", false)]
    public void Host_names_are_letters_digits_hyphens_and_underscores_in_labels(string name, bool valid) =>
        Assert.Equal(valid, DnsClientResolver.IsHostName(name));

    [Fact]
    public void Labels_and_names_have_their_dns_lengths()
    {
        Assert.True(DnsClientResolver.IsHostName(new string('a', 63) + ".test"));
        Assert.False(DnsClientResolver.IsHostName(new string('a', 64) + ".test"));
        Assert.False(DnsClientResolver.IsHostName(string.Join('.', Enumerable.Repeat(new string('a', 63), 4)) + ".test"));
    }

    private static ResourceRecordInfo Info(string name, ResourceRecordType type) => new(name, type, QueryClass.IN, 300, 0);

    private static MxRecord Mx(ushort preference, string exchange) => new(Info("example.test", ResourceRecordType.MX), preference, DnsString.FromResponseQueryString(exchange));

    private static ARecord A(string address) => new(Info("mail.example.test", ResourceRecordType.A), IPAddress.Parse(address));

    private static AaaaRecord Aaaa(string address) => new(Info("mail.example.test", ResourceRecordType.AAAA), IPAddress.Parse(address));

    private static FakeResponse Answer(params DnsResourceRecord[] answers) => new(answers);

    private sealed class FakeResponse(IReadOnlyList<DnsResourceRecord> answers) : IDnsQueryResponse
    {
        public IReadOnlyList<DnsQuestion> Questions => [];
        public IReadOnlyList<DnsResourceRecord> Additionals => [];
        public IEnumerable<DnsResourceRecord> AllRecords => answers;
        public IReadOnlyList<DnsResourceRecord> Answers => answers;
        public IReadOnlyList<DnsResourceRecord> Authorities => [];
        public string AuditTrail => "";
        public string ErrorMessage => "";
        public bool HasError => false;
        public DnsResponseHeader Header { get; } = new(1, 0x8180, 1, answers.Count, 0, 0); // a response, RD RA, NOERROR
        public int MessageSize => 0;
        public NameServer NameServer => new(IPAddress.Loopback);
        public DnsQuerySettings Settings => new(new DnsQueryOptions());
    }
}
