using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Hosting.HostedServices;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>The certificate named by Mail:Tls, loaded from PEM and PKCS#12 files and presented to a real TLS client.</summary>
public sealed class CertificateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mail-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string> Forms => ["pem with key file", "pem with key inside", "encrypted pem", "pfx"];

    [Theory]
    [MemberData(nameof(Forms))]
    public async Task Certificate_file_is_what_implicit_tls_presents(string form)
    {
        var ct = TestHost.Timeout();
        using var certificate = CreateCertificate();
        var settings = TestHost.Settings();
        settings.Remove("Mail:Tls:SelfSigned");
        foreach (var (key, value) in Write(certificate, form))
        {
            settings[key] = value;
        }
        using var host = TestHost.Build(settings, delivery: false);
        await host.StartAsync(ct);
        var smtp = host.Services.GetRequiredService<SmtpServerService>();

        using var client = new SmtpClient();
        // Only the certificate in the file is accepted.
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(certificate);
        await client.ConnectAsync("127.0.0.1", smtp.EndPoints["smtps"].Port, SecureSocketOptions.SslOnConnect, ct);
        Assert.True(client.IsSecure);
        await client.DisconnectAsync(true, ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task Pem_file_without_its_key_fails_the_start_naming_the_file()
    {
        using var certificate = CreateCertificate();
        var settings = TestHost.Settings();
        settings.Remove("Mail:Tls:SelfSigned");
        var path = Path.Combine(_directory, "alone.pem");
        await File.WriteAllTextAsync(path, certificate.ExportCertificatePem());
        settings["Mail:Tls:CertificatePath"] = path;
        using var host = TestHost.Build(settings, delivery: false);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestHost.Timeout()));
        var messages = failure is AggregateException aggregate ? aggregate.InnerExceptions.SelectMany(Failures).ToList() : Failures(failure).ToList();
        Assert.Contains(messages, message => message.StartsWith("Mail:Tls:CertificatePath: ", StringComparison.Ordinal) && message.Contains(path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Certificate_is_chosen_by_the_name_the_client_asks_for()
    {
        var ct = TestHost.Timeout();
        using var fallback = CreateCertificate("mx.example.test");
        using var exact = CreateCertificate("mail.other.test");
        using var wildcard = CreateCertificate("*.third.test");
        var settings = TestHost.Settings();
        settings.Remove("Mail:Tls:SelfSigned");
        settings["Mail:Tls:CertificatePath"] = WritePem(fallback, "fallback.pem");
        settings["Mail:Tls:ServerNames:mail.other.test:CertificatePath"] = WritePem(exact, "exact.pem");
        settings["Mail:Tls:ServerNames:*.third.test:CertificatePath"] = WritePem(wildcard, "wildcard.pem");
        using var international = CreateCertificate("xn--bcher-kva.test");
        settings["Mail:Tls:ServerNames:bücher.test:CertificatePath"] = WritePem(international, "international.pem");
        using var host = TestHost.Build(settings, delivery: false);
        await host.StartAsync(ct);
        var port = host.Services.GetRequiredService<SmtpServerService>().EndPoints["smtps"].Port;

        // MailKit sends the host name it is given as SNI; the socket goes to loopback whatever the name.
        await ConnectPinnedAsync(port, "mail.other.test", exact, ct);
        await ConnectPinnedAsync(port, "MAIL.Other.Test", exact, ct);
        await ConnectPinnedAsync(port, "mx.third.test", wildcard, ct);
        await ConnectPinnedAsync(port, "deeper.mx.third.test", fallback, ct); // a wildcard covers one label only
        await ConnectPinnedAsync(port, "unknown.test", fallback, ct);
        // An international name, configured in Unicode, asked for in its ASCII form, with the root's dot.
        await ConnectPinnedAsync(port, "xn--bcher-kva.test.", international, ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task A_renewed_certificate_file_is_presented_without_a_restart()
    {
        var ct = TestHost.Timeout();
        using var old = CreateCertificate("mx.example.test");
        using var renewed = CreateCertificate("mx.example.test");
        var settings = TestHost.Settings();
        settings.Remove("Mail:Tls:SelfSigned");
        var path = WritePem(old, "server.pem");
        settings["Mail:Tls:CertificatePath"] = path;
        using var host = TestHost.Build(settings, delivery: false);
        await host.StartAsync(ct);
        var port = host.Services.GetRequiredService<SmtpServerService>().EndPoints["smtps"].Port;
        await ConnectPinnedAsync(port, "mx.example.test", old, ct);

        WritePem(renewed, "server.pem");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1)); // a new time even on a coarse file system clock
        await Task.Delay(TimeSpan.FromSeconds(1.2), ct); // the file is looked at no more than once a second
        await ConnectPinnedAsync(port, "mx.example.test", renewed, ct);

        // A file rewritten with garbage keeps the certificate in use.
        await File.WriteAllTextAsync(path, "not a certificate", ct);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        await Task.Delay(TimeSpan.FromSeconds(1.2), ct);
        await ConnectPinnedAsync(port, "mx.example.test", renewed, ct);
        await host.StopAsync(ct);
    }

    [Fact]
    public async Task Certificate_from_the_store_by_thumbprint()
    {
        var ct = TestHost.Timeout();
        using var created = CreateCertificate("mx.example.test");
        using var stored = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.PersistKeySet | X509KeyStorageFlags.Exportable);
        using var store = new X509Store(StoreName.My, StoreLocation.CurrentUser);
        store.Open(OpenFlags.ReadWrite);
        store.Add(stored);
        try
        {
            var settings = TestHost.Settings();
            settings.Remove("Mail:Tls:SelfSigned");
            settings["Mail:Tls:StoreThumbprint"] = stored.Thumbprint;
            using var host = TestHost.Build(settings, delivery: false);
            await host.StartAsync(ct);
            var port = host.Services.GetRequiredService<SmtpServerService>().EndPoints["smtps"].Port;
            await ConnectPinnedAsync(port, "mx.example.test", created, ct);
            await host.StopAsync(ct);

            settings["Mail:Tls:StoreThumbprint"] = new string('0', 40);
            using var missing = TestHost.Build(settings, delivery: false);
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => missing.StartAsync(ct));
            var messages = failure is AggregateException aggregate ? aggregate.InnerExceptions.SelectMany(Failures).ToList() : Failures(failure).ToList();
            Assert.Contains(messages, message => message.StartsWith("Mail:Tls:StoreThumbprint: no certificate", StringComparison.Ordinal));
        }
        finally
        {
            store.Remove(stored);
        }
    }

    private static async Task ConnectPinnedAsync(int port, string serverName, X509Certificate2 expected, CancellationToken ct)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, ct);
        using var client = new SmtpClient();
        client.ServerCertificateValidationCallback = PinnedCertificate.Callback(expected);
        await client.ConnectAsync(socket, serverName, port, SecureSocketOptions.SslOnConnect, ct);
        Assert.True(client.IsSecure);
        await client.DisconnectAsync(true, ct);
    }

    private string WritePem(X509Certificate2 certificate, string name)
    {
        using var key = certificate.GetRSAPrivateKey()!;
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem());
        return path;
    }

    private static IEnumerable<string> Failures(Exception e) => e is OptionsValidationException validation ? validation.Failures : [e.Message];

    private Dictionary<string, string> Write(X509Certificate2 certificate, string form)
    {
        using var key = certificate.GetRSAPrivateKey()!;
        var certificatePath = Path.Combine(_directory, "server.pem");
        switch (form)
        {
            case "pem with key file":
                File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
                File.WriteAllText(Path.Combine(_directory, "server.key"), key.ExportPkcs8PrivateKeyPem());
                return new() { ["Mail:Tls:CertificatePath"] = certificatePath, ["Mail:Tls:KeyPath"] = Path.Combine(_directory, "server.key") };
            case "pem with key inside":
                File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem());
                return new() { ["Mail:Tls:CertificatePath"] = certificatePath };
            case "encrypted pem":
                var encrypted = key.ExportEncryptedPkcs8PrivateKeyPem("secret".AsSpan(),
                    new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000));
                File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n" + encrypted);
                return new() { ["Mail:Tls:CertificatePath"] = certificatePath, ["Mail:Tls:Password"] = "secret" };
            default:
                var pfx = Path.Combine(_directory, "server.pfx");
                File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pkcs12, "secret"));
                return new() { ["Mail:Tls:CertificatePath"] = pfx, ["Mail:Tls:Password"] = "secret" };
        }
    }

    private static X509Certificate2 CreateCertificate(string name = "mx.example.test")
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=" + name, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }
}
