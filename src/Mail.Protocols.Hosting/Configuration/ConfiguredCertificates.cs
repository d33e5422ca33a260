using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// The certificates <see cref="TlsSettings"/> names, chosen per handshake by SNI name (exact, then <c>*.</c> one label
/// up, then the default), each loaded again when its file changes (looked at no more than once a second).
/// </summary>
internal sealed class ConfiguredCertificates : IServerCertificateSelector
{
    private readonly LoadedCertificate _default;
    private readonly Dictionary<string, LoadedCertificate> _byName = new(StringComparer.OrdinalIgnoreCase);

    public ConfiguredCertificates(TlsSettings settings, string path)
    {
        _default = settings.SelfSigned
            ? new LoadedCertificate(null, path, SelfSignedCertificate.Create("localhost", System.Net.Dns.GetHostName()))
            : new LoadedCertificate(settings, path, settings.Load(path));
        try
        {
            foreach (var (name, certificate) in settings.ServerNames)
            {
                var namePath = $"{path}:ServerNames:{name}";
                _byName[AsciiName(name)] = new LoadedCertificate(certificate, namePath, certificate.Load(namePath));
            }
        }
        catch
        {
            _default.Dispose();
            foreach (var loaded in _byName.Values)
            {
                loaded.Dispose();
            }
            throw;
        }
    }

    public X509Certificate2 SelectCertificate(string? serverName)
    {
        if (serverName is not null && _byName.Count > 0)
        {
            serverName = AsciiName(serverName);
            if (_byName.TryGetValue(serverName, out var exact))
            {
                return exact.Current();
            }
            var dot = serverName.IndexOf('.', StringComparison.Ordinal);
            if (dot > 0 && _byName.TryGetValue(string.Concat("*", serverName.AsSpan(dot)), out var wildcard))
            {
                return wildcard.Current();
            }
        }
        return _default.Current();
    }

    // SslStream hands over the SNI name in Unicode (an IDN decoded); the names configured are in their ASCII form, and a
    // name may end in the root's dot.
    private static string AsciiName(string name) => Addressing.DomainName.ToAscii(name.TrimEnd('.'));

    /// <summary>One certificate and the file it came from, loaded again when the file's time changes.</summary>
    private sealed class LoadedCertificate(CertificateSettings? settings, string path, X509Certificate2 certificate) : IDisposable
    {
        private static readonly long s_lookInterval = TimeSpan.FromSeconds(1).Ticks;
        private readonly Lock _gate = new();
        private X509Certificate2 _certificate = certificate;
        private DateTime? _stamp = settings?.Stamp();
        private long _lookedAt = Environment.TickCount64 * TimeSpan.TicksPerMillisecond;

        public X509Certificate2 Current()
        {
            var now = Environment.TickCount64 * TimeSpan.TicksPerMillisecond;
            if (settings?.CertificatePath is null || now - Volatile.Read(ref _lookedAt) < s_lookInterval)
            {
                return Volatile.Read(ref _certificate);
            }
            lock (_gate)
            {
                if (now - _lookedAt >= s_lookInterval)
                {
                    Volatile.Write(ref _lookedAt, now);
                    Reload();
                }
                return _certificate;
            }
        }

        /// <summary>Disposes the certificate in use (only when the selector is not built after all: a running server may be using it).</summary>
        public void Dispose() => _certificate.Dispose();

        // A file being rewritten may be read half-written: that attempt fails and the certificate in use stays until the
        // next look finds the file complete. A deleted file keeps the certificate in use too.
        private void Reload()
        {
            try
            {
                var stamp = settings!.Stamp();
                if (stamp == _stamp)
                {
                    return;
                }
                var fresh = settings.Load(path);
                _stamp = stamp;
                Volatile.Write(ref _certificate, fresh);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Extensions.Options.OptionsValidationException)
            {
            }
        }
    }
}
