using System.Net;
using System.Text;
using Mail.Protocols.Dns;
using Mail.Protocols.InMemory;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Tests.Interop;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// SMTP smuggling in the outbound role: the delivery agent relays a message whose content holds end-of-data look-alikes
/// (bare CR or LF around a dot, as BINARYMIME, a BDAT chunk under the Normalize policy or an application's own queue
/// entry may hold) to a next hop that ends DATA at any of them. Over DATA the client writes every line ending as CRLF
/// and stuffs every line that starts with a dot, so even that next hop sees one message and one MAIL command.
/// </summary>
public sealed class OutboundSmugglingTests
{
    private const string Smuggled = "MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@elsewhere.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n";

    public static TheoryData<string> LookAlikes => new()
    {
        "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\r", "\n", "\r\n.\0\r\n", "\r\n.\r\n",
    };

    // What a correct DATA writer sends for `content`: every CR, LF or CRLF as CRLF, a dot doubled at each line start.
    private static string Expected(string content)
    {
        var lines = content.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n');
        return string.Join("\r\n", lines.Select(l => l.StartsWith('.') ? "." + l : l));
    }

    private static DeliveryAgent Agent(IMessageQueue queue, LenientSmtpSink sink) =>
        new(queue, new NoDns(), (_, _, _) => ValueTask.CompletedTask, new DeliveryAgentOptions
        {
            ServerName = "relay.example.test",
            SmartHost = new DnsEndPoint("127.0.0.1", sink.EndPoint.Port),
        });

    [Theory]
    [MemberData(nameof(LookAlikes))]
    public async Task Relayed_message_holding_a_data_end_look_alike_reaches_a_lenient_next_hop_as_one_message(string lookAlike)
    {
        await using var sink = new LenientSmtpSink();
        var queue = new InMemoryMessageQueue();
        var content = "From: alice@example.test\r\nSubject: honest\r\n\r\nhello" + lookAlike + Smuggled + ".";
        await queue.EnqueueAsync(new QueueEnvelope("alice@example.test", [new QueueRecipient("bob@remote.test")], DateTimeOffset.UtcNow),
            new MemoryStream(Encoding.UTF8.GetBytes(content)));
        Assert.Equal(1, await Agent(queue, sink).RunOnceAsync());

        Assert.Equal(0, await queue.CountAsync());
        Assert.Equal(["MAIL FROM:<alice@example.test>"], sink.Commands.Where(c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase)));
        Assert.DoesNotContain(sink.Commands, c => c.Contains("evil", StringComparison.Ordinal));
        var message = Assert.Single(sink.Messages);
        Assert.Equal(Expected(content), Encoding.UTF8.GetString(message));
    }

    // Our server ends DATA only at a real CRLF "." CRLF, so that one is not a look-alike here.
    public static TheoryData<string> InboundLookAlikes => new() { "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r", "\r", "\n" };

    [Theory]
    [MemberData(nameof(InboundLookAlikes))]
    public async Task Message_accepted_under_normalize_and_relayed_reaches_a_lenient_next_hop_as_one_message(string lookAlike)
    {
        await using var sink = new LenientSmtpSink();
        await using var host = await InteropHost.StartAsync(o =>
        {
            o.AllowPlaintextAuth = true;
            o.Smtp.BareLineEndings = BareLineEndingPolicy.Normalize;
            o.Delivery = new DeliveryAgentOptions { ServerName = InteropHost.ServerName, SmartHost = new DnsEndPoint("127.0.0.1", sink.EndPoint.Port) };
            o.DnsResolver = new NoDns();
            o.DeliveryPollInterval = TimeSpan.FromMilliseconds(50);
        });
        var ct = Wire.Timeout();
        await using (var c = await RawSmtpConnection.ConnectAsync(host.Submission, ct))
        {
            Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("EHLO client.example.org\r\n", ct);
            await c.ReadReplyAsync(ct);
            await c.WriteAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8) + "\r\n", ct);
            Assert.StartsWith("235 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@remote.test>\r\nDATA\r\n", ct);
            await c.ReadSingleLineReplyAsync(ct);
            await c.ReadSingleLineReplyAsync(ct);
            Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
            await c.WriteAsync("Subject: honest\r\n\r\nhello" + lookAlike + Smuggled + ".\r\n", ct);
            Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        }

        // The host's agent polls every 50 ms; allow a busy machine 30 s.
        for (var i = 0; i < 600 && (sink.Messages.Count == 0 || await host.Host.Queue.CountAsync() != 0); i++)
        {
            await Task.Delay(50, ct);
        }
        Assert.Equal(0, await host.Host.Queue.CountAsync());
        Assert.Equal(["MAIL FROM:<alice@example.test>"], sink.Commands.Where(c => c.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase)));
        Assert.DoesNotContain(sink.Commands, c => c.Contains("evil", StringComparison.Ordinal));
        var text = Encoding.UTF8.GetString(Assert.Single(sink.Messages));
        Assert.Contains("\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@elsewhere.test>\r\nDATA\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\nSubject: smuggled\r\n\r\nevil", text, StringComparison.Ordinal);
    }

    private sealed class NoDns : IDnsResolver
    {
        public ValueTask<MxLookupResult> LookupMxAsync(string domain, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new MxLookupResult(DnsLookupStatus.TemporaryFailure, [], "no DNS here"));

        public ValueTask<AddressLookupResult> LookupAddressesAsync(string host, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new AddressLookupResult(DnsLookupStatus.TemporaryFailure, [], "no DNS here"));
    }
}
