using System.Net;
using MailKit.Net.Imap;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mail.Protocols.Hosting;

namespace Mail.Protocols.Imap.Tests.Interop;

/// <summary>
/// A <see cref="MailHost"/> on free loopback ports (SMTP MX, IMAP with STARTTLS, IMAP over implicit TLS) with two users
/// (alice, bob) in example.test, and MailKit clients connected with the host's self-signed certificate pinned.
/// </summary>
internal sealed class ImapInteropHost : IAsyncDisposable
{
    public const string ServerName = "imap.interop.test";
    public const string Alice = "alice@example.test";
    public const string AlicePassword = "alice";
    public const string Bob = "bob@example.test";

    private ImapInteropHost(MailHost host) => Host = host;

    public MailHost Host { get; }

    public IPEndPoint Smtp => Host.EndPoints["smtp"];

    public IPEndPoint Imap => Host.EndPoints["imap"];

    public IPEndPoint Imaps => Host.EndPoints["imaps"];

    public static NetworkCredential AliceCredential => new(Alice, AlicePassword);

    public static async Task<ImapInteropHost> StartAsync(Action<MailHostOptions>? configure = null)
    {
        var options = new MailHostOptions
        {
            SmtpPort = 0, SubmissionPort = null, SmtpsPort = null, Pop3Port = null, Pop3sPort = null, ImapPort = 0, ImapsPort = 0,
            ServerName = ServerName,
        };
        options.Domains.Add("example.test");
        options.Users.Add((Alice, AlicePassword));
        options.Users.Add((Bob, "bob"));
        options.Smtp.FailedAuthDelay = TimeSpan.FromMilliseconds(50);
        options.Imap.FailedAuthDelay = TimeSpan.FromMilliseconds(50);
        configure?.Invoke(options);
        var host = new MailHost(options);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        return new ImapInteropHost(host);
    }

    /// <summary>A MailKit client logged in as alice over STARTTLS (or implicit TLS); the caller disposes it.</summary>
    public async Task<ImapClient> LoginAsync(TranscriptLogger? log = null, bool implicitTls = false, CancellationToken cancellationToken = default)
    {
        var client = log is null ? new ImapClient() : new ImapClient(log);
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(Host.Certificate);
        client.CheckCertificateRevocation = false;
        client.Timeout = 60_000;
        var endPoint = implicitTls ? Imaps : Imap;
        await client.ConnectAsync(endPoint.Address.ToString(), endPoint.Port, implicitTls ? SecureSocketOptions.SslOnConnect : SecureSocketOptions.StartTls, cancellationToken);
        await client.AuthenticateAsync(AliceCredential, cancellationToken);
        return client;
    }

    /// <summary>Sends a message to alice over SMTP (the MX port).</summary>
    public async Task SendAsync(MimeKit.MimeMessage message, CancellationToken cancellationToken = default)
    {
        using var client = new SmtpClient();
        client.LocalDomain = "client.example.org";
        client.Timeout = 60_000;
        await client.ConnectAsync(Smtp.Address.ToString(), Smtp.Port, SecureSocketOptions.None, cancellationToken);
        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(true, cancellationToken);
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
