using DnsClient;
using Mail.Protocols.Fuzz.Targets.Dns;

namespace Mail.Protocols.Fuzz.Tests;

/// <summary>
/// The DnsAnswers target reaches DnsClient's internal message reader by reflection: these fail if a DnsClient update moved
/// it, instead of the target quietly skipping every input as a message DnsClient refused.
/// </summary>
public sealed class DnsWireTests
{
    private static byte[] Seed(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Corpus", "DnsAnswers", name));

    [Fact]
    public void A_seed_answer_reads_as_the_mx_records_it_holds()
    {
        var response = DnsWire.Read(Seed("mx-two"));

        Assert.NotNull(response);
        Assert.Equal(DnsHeaderResponseCode.NoError, response.Header.ResponseCode);
        Assert.Equal([("backup.example.test.", (ushort)20), ("mail.example.test.", (ushort)10)],
            response.Answers.MxRecords().Select(r => (r.Exchange.Value, r.Preference)));
    }

    [Fact]
    public void A_compressed_name_and_an_error_code_read_as_dns_client_reads_them()
    {
        Assert.Equal("mail.example.test.", DnsWire.Read(Seed("mx-compressed"))!.Answers.MxRecords().Single().Exchange.Value);
        Assert.Equal(DnsHeaderResponseCode.NotExistentDomain, DnsWire.Read(Seed("nxdomain"))!.Header.ResponseCode);
    }

    [Fact]
    public void A_message_dns_client_cannot_read_is_null() => Assert.Null(DnsWire.Read([0x12, 0x34, 0x81]));
}
