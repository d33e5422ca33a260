using System.Text;
using Mail.Protocols.Smtp.Tests.Interop;

namespace Mail.Protocols.Smtp.Tests.Abuse;

/// <summary>
/// Oversized input over a real socket with the default limits: refused with SMTP's own error, the session still usable,
/// and (in the allocation-measured collection, which runs alone) the server allocates far less than the input's size,
/// so it never holds what it refuses.
/// </summary>
[Collection(AllocationCollection.Name)]
public sealed class OversizedInputTests
{
    private const int Huge = 16 * 1024 * 1024;
    private const long Bound = 4 * 1024 * 1024; // a quarter of the input: holding it would cost at least all of it

    private static async Task<RawSmtpConnection> GreetedAsync(InteropHost host, CancellationToken ct, bool ehlo = true)
    {
        var c = await RawSmtpConnection.ConnectAsync(host.Mx, ct);
        Assert.StartsWith("220 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        if (ehlo)
        {
            await c.WriteAsync("EHLO client.example.org\r\n", ct);
            await c.ReadReplyAsync(ct);
        }
        return c;
    }

    // 1 MiB of 'A' (a valid EHLO name, command text and base64 alike), allocated before any measurement.
    private static readonly byte[] s_block = Enumerable.Repeat((byte)'A', 1024 * 1024).ToArray();

    // Sends `count` octets (a multiple of 1 MiB) with no line end among them.
    private static async Task SendFillAsync(RawSmtpConnection c, int count, CancellationToken ct)
    {
        for (var sent = 0; sent < count; sent += s_block.Length)
        {
            await c.WriteAsync(s_block, ct);
        }
    }

    [Fact]
    public async Task Ehlo_name_over_the_domain_limit_is_refused_and_the_session_continues()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct, ehlo: false);
        await c.WriteAsync("EHLO " + string.Join('.', Enumerable.Repeat(new string('a', 60), 5)) + "\r\n", ct); // 304 octets
        Assert.Equal("501 5.5.4 Invalid HELO/EHLO name", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("HELO " + new string('b', 1500) + "\r\n", ct);
        Assert.Equal("501 5.5.4 Invalid HELO/EHLO name", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ehlo_argument_of_16_mib_gets_500_5_5_6_without_the_server_holding_it()
    {
        var ct = Wire.Timeout(120);
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct, ehlo: false);
        var allocated = await AllocationProbe.MeasureAsync(async () =>
        {
            await c.WriteAsync("EHLO ", ct);
            await SendFillAsync(c, Huge, ct);
            await c.WriteAsync("\r\n", ct);
            Assert.Equal("500 5.5.6 Line too long", await c.ReadSingleLineReplyAsync(ct));
        });
        Assert.InRange(allocated, 0, Bound);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        Assert.StartsWith("250 ", (await c.ReadReplyAsync(ct))[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Command_line_of_16_mib_without_a_line_end_is_dropped_as_it_arrives()
    {
        var ct = Wire.Timeout(120);
        await using var host = await InteropHost.StartAsync();
        await using var c = await GreetedAsync(host, ct);
        var allocated = await AllocationProbe.MeasureAsync(async () =>
        {
            await SendFillAsync(c, Huge, ct);
            // Nothing answered yet: the line has not ended. NOOP's reply after the line end shows the order.
            await c.WriteAsync("\r\nNOOP\r\n", ct);
            Assert.Equal("500 5.5.6 Line too long", await c.ReadSingleLineReplyAsync(ct));
            Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct));
        });
        Assert.InRange(allocated, 0, Bound);
    }

    [Fact]
    public async Task Recipients_past_the_default_maximum_of_100_get_452_4_5_3_and_the_message_has_100()
    {
        var ct = Wire.Timeout();
        await using var host = await InteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        await using var c = await RawSmtpConnection.ConnectAsync(host.Submission, ct);
        await c.ReadSingleLineReplyAsync(ct);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        await c.ReadReplyAsync(ct);
        await c.WriteAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8) + "\r\n", ct);
        Assert.StartsWith("235 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        var envelope = new StringBuilder("MAIL FROM:<alice@example.test>\r\n");
        for (var i = 0; i < 150; i++)
        {
            envelope.Append("RCPT TO:<r").Append(i).Append("@remote.example>\r\n");
        }
        await c.WriteAsync(envelope.Append("DATA\r\n").ToString(), ct);
        Assert.Equal("250 2.1.0 Sender ok", await c.ReadSingleLineReplyAsync(ct));
        for (var i = 0; i < 150; i++)
        {
            Assert.Equal(i < 100 ? "250 2.1.5 Recipient ok" : "452 4.5.3 Too many recipients", await c.ReadSingleLineReplyAsync(ct));
        }
        Assert.StartsWith("354 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        await c.WriteAsync("Subject: many\r\n\r\nhi\r\n.\r\nNOOP\r\n", ct);
        Assert.StartsWith("250 2.0.0 ", await c.ReadSingleLineReplyAsync(ct), StringComparison.Ordinal);
        Assert.Equal("250 2.0.0 OK", await c.ReadSingleLineReplyAsync(ct)); // still in business: 452 is no error strike
        var entry = Assert.Single(await host.Host.Queue.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        Assert.Equal(100, entry.Envelope.Recipients.Count);
    }

    [Fact]
    public async Task Sasl_answer_over_its_limit_gets_500_5_5_6_without_the_server_holding_it()
    {
        var ct = Wire.Timeout(120);
        await using var host = await InteropHost.StartAsync(o => o.AllowPlaintextAuth = true);
        await using var c = await RawSmtpConnection.ConnectAsync(host.Submission, ct);
        await c.ReadSingleLineReplyAsync(ct);
        await c.WriteAsync("EHLO client.example.org\r\n", ct);
        await c.ReadReplyAsync(ct);

        // Just over the 12,288-octet bound of a SASL answer.
        await c.WriteAsync("AUTH LOGIN\r\n", ct);
        Assert.Equal("334 VXNlcm5hbWU6", await c.ReadSingleLineReplyAsync(ct));
        await c.WriteAsync(new string('A', 12_292) + "\r\n", ct);
        Assert.Equal("500 5.5.6 Line too long", await c.ReadSingleLineReplyAsync(ct));

        // 16 MiB of base64 without a line end, then one.
        await c.WriteAsync("AUTH LOGIN\r\n", ct);
        Assert.Equal("334 VXNlcm5hbWU6", await c.ReadSingleLineReplyAsync(ct));
        var allocated = await AllocationProbe.MeasureAsync(async () =>
        {
            await SendFillAsync(c, Huge, ct);
            await c.WriteAsync("\r\n", ct);
            Assert.Equal("500 5.5.6 Line too long", await c.ReadSingleLineReplyAsync(ct));
        });
        Assert.InRange(allocated, 0, Bound);
        await c.WriteAsync("AUTH PLAIN " + Convert.ToBase64String("\0alice@example.test\0alice"u8) + "\r\n", ct);
        Assert.Equal("235 2.7.0 Authentication successful", await c.ReadSingleLineReplyAsync(ct));
    }
}
