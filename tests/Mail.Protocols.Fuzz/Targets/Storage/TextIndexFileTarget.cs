using System.Buffers.Binary;
using System.Security.Cryptography;
using Mail.Protocols.Imap.Search.TextIndex;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// The IMAP engine's word index file, kept per folder through <c>IFolderCacheStore</c> (<see cref="FolderTextIndex.TryLoad"/>).
/// The file ends in a SHA-256 of its content, which random bytes never match: the input is taken as the content, its hash
/// appended, and the UIDVALIDITY asked for is the one the content names (the raw input is tried too). Properties: loading
/// never throws; an index loaded writes a file (<see cref="FolderTextIndex.Serialize"/>) that loads again and writes the
/// same octets; a query over it gives bit arrays as long as its document count.
/// </summary>
internal sealed class TextIndexFileTarget : IFuzzTarget
{
    private const int MagicLength = 8;

    public string Name => "TextIndexFile";

    public void Run(ReadOnlySpan<byte> input)
    {
        var uidValidity = input.Length >= MagicLength + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(input[MagicLength..]) : 1u;
        Check(FolderTextIndex.TryLoad(input, uidValidity), uidValidity);
        var file = new byte[input.Length + SHA256.HashSizeInBytes];
        input.CopyTo(file);
        SHA256.HashData(input, file.AsSpan(input.Length));
        Check(FolderTextIndex.TryLoad(file, uidValidity), uidValidity);
    }

    private static void Check(FolderTextIndex? index, uint uidValidity)
    {
        if (index is null)
        {
            return;
        }

        Fuzz.Equal(uidValidity, index.UidValidity, "UIDVALIDITY");
        var written = index.Serialize();
        var again = FolderTextIndex.TryLoad(written, uidValidity) ?? throw new FuzzPropertyException("the index written back does not load");
        Fuzz.BytesEqual(written, again.Serialize(), "the index written twice");
        Fuzz.Equal(index.DocumentCount, again.DocumentCount, "documents after the round trip");
        foreach (var (body, headers) in index.Query(["a", "subject:", "from:x", "\u00e9"]))
        {
            Fuzz.Check(body.Length == index.DocumentCount && headers.Length == index.DocumentCount, "a query's bit arrays are not one bit per document");
        }
    }
}
