using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Mail.Protocols.Hosting;

namespace Mail.Protocols.Pop3.Tests.Tls;

/// <summary>
/// Every way to log in (USER/PASS, APOP and each SASL mechanism) needs TLS unless plaintext authentication is allowed,
/// over a real loopback socket with a raw client: refused in plaintext with -ERR [AUTH], not advertised before TLS,
/// and working after STLS, over implicit TLS and where plaintext authentication is configured allowed.
/// </summary>
public partial class AuthenticationRequiresTlsTests
{
    private const string Alice = "alice@example.test";
    private const string Refused = "-ERR [AUTH] Authentication requires TLS, use STLS first";

    public static TheoryData<string> Methods => new() { "APOP", "USER", "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256" };

    private static async Task<MailHost> StartAsync(bool allowPlaintext)
    {
        var options = new MailHostOptions
        {
            SmtpPort = null, SubmissionPort = null, SmtpsPort = null, Pop3Port = 0, Pop3sPort = 0, ImapPort = null, ImapsPort = null, ServerName = "pop.example.test",
            AllowPlaintextAuth = allowPlaintext,
        };
        options.Domains.Add("example.test");
        options.Users.Add((Alice, "alice"));
        options.Pop3.FailedAuthDelay = TimeSpan.Zero;
        var host = new MailHost(options);
        await host.StartAsync();
        return host;
    }

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Timestamp();

    // Runs the whole login with `method` and returns the reply that ends it.
    private static async Task<string> LogInAsync(RawLineClient client, string method, string greeting)
    {
        switch (method)
        {
            case "APOP":
#pragma warning disable CA5351 // RFC 1939 APOP
                var digest = Convert.ToHexStringLower(MD5.HashData(Encoding.ASCII.GetBytes(Timestamp().Match(greeting).Value + "alice")));
#pragma warning restore CA5351
                return await client.CommandAsync($"APOP {Alice} {digest}");
            case "USER":
                var user = await client.CommandAsync("USER " + Alice);
                return user == "+OK" ? await client.CommandAsync("PASS alice") : user;
            case "PLAIN":
                return await client.CommandAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.ASCII.GetBytes($"\0{Alice}\0alice")));
            case "LOGIN":
                var name = await client.CommandAsync("AUTH LOGIN");
                if (!name.StartsWith("+ ", StringComparison.Ordinal))
                {
                    return name;
                }
                await client.CommandAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes(Alice)));
                return await client.CommandAsync(Convert.ToBase64String("alice"u8.ToArray()));
            case "CRAM-MD5":
                var challenge = await client.CommandAsync("AUTH CRAM-MD5");
                if (!challenge.StartsWith("+ ", StringComparison.Ordinal))
                {
                    return challenge;
                }
#pragma warning disable CA5351 // RFC 2195 CRAM-MD5
                var hmac = Convert.ToHexStringLower(HMACMD5.HashData("alice"u8, Convert.FromBase64String(challenge[2..])));
#pragma warning restore CA5351
                return await client.CommandAsync(Convert.ToBase64String(Encoding.ASCII.GetBytes($"{Alice} {hmac}")));
            default:
                var scram = new ScramClient(Alice, "alice");
                var serverFirst = await client.CommandAsync("AUTH SCRAM-SHA-256 " + scram.First);
                if (!serverFirst.StartsWith("+ ", StringComparison.Ordinal))
                {
                    return serverFirst;
                }
                var serverFinal = await client.CommandAsync(scram.Final(serverFirst[2..]));
                Assert.True(scram.VerifyServerFinal(serverFinal[2..]), serverFinal);
                return await client.CommandAsync("");
        }
    }

    private static async Task<List<string>> CapaAsync(RawLineClient client)
    {
        Assert.Equal("+OK Capability list follows", await client.CommandAsync("CAPA"));
        var lines = new List<string>();
        while (await client.ReadLineAsync() is var line && line != ".")
        {
            lines.Add(line);
        }
        return lines;
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task A_login_in_plaintext_is_refused_and_the_same_login_after_stls_succeeds(string method)
    {
        await using var host = await StartAsync(allowPlaintext: false);
        await using var client = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        var greeting = await client.ReadLineAsync();
        Assert.Matches("^\\+OK pop\\.example\\.test POP3 ready <[^>]+>$", greeting); // APOP can be used once STLS is done

        Assert.Equal(Refused, await LogInAsync(client, method, greeting));
        Assert.Equal("-ERR Not logged in", await client.CommandAsync("STAT"));

        Assert.Equal("+OK Begin TLS negotiation", await client.CommandAsync("STLS"));
        await client.StartTlsAsync(host.Certificate);
        Assert.Equal("+OK alice@example.test has 0 message(s)", await LogInAsync(client, method, greeting));
    }

    [Fact]
    public async Task Capa_before_tls_offers_no_login_and_after_stls_offers_every_one()
    {
        await using var host = await StartAsync(allowPlaintext: false);
        await using var client = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        await client.ReadLineAsync();
        var before = await CapaAsync(client);
        Assert.DoesNotContain("USER", before);
        Assert.DoesNotContain(before, l => l.StartsWith("SASL", StringComparison.Ordinal)); // nothing that would be refused
        Assert.Contains("STLS", before);
        Assert.Equal("+OK", await client.CommandAsync("AUTH"));
        Assert.Equal(".", await client.ReadLineAsync()); // no mechanism listed either

        Assert.Equal("+OK Begin TLS negotiation", await client.CommandAsync("STLS"));
        await client.StartTlsAsync(host.Certificate);
        var after = await CapaAsync(client);
        Assert.Contains("USER", after);
        Assert.Contains("SASL SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", after);
        Assert.DoesNotContain("STLS", after);
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task Every_login_works_over_implicit_tls(string method)
    {
        await using var host = await StartAsync(allowPlaintext: false);
        await using var client = await RawLineClient.ConnectAsync(host.EndPoints["pop3s"]);
        await client.StartTlsAsync(host.Certificate);
        var greeting = await client.ReadLineAsync();
        Assert.Equal("+OK alice@example.test has 0 message(s)", await LogInAsync(client, method, greeting));
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public async Task Every_login_works_in_plaintext_where_plaintext_authentication_is_allowed(string method)
    {
        await using var host = await StartAsync(allowPlaintext: true);
        await using var client = await RawLineClient.ConnectAsync(host.EndPoints["pop3"]);
        var greeting = await client.ReadLineAsync();
        var capa = await CapaAsync(client);
        Assert.Contains("USER", capa);
        Assert.Contains("SASL SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN", capa);
        Assert.Equal("+OK alice@example.test has 0 message(s)", await LogInAsync(client, method, greeting));
    }
}
