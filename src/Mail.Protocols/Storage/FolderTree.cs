namespace Mail.Protocols.Storage;

/// <summary>
/// Builds the answer of <see cref="IMailboxStore.ListFoldersAsync"/> from a store's folders, the same way for every
/// store: INBOX first and the rest in ordinal order, <see cref="FolderInfo.HasChildren"/> set, and every missing
/// parent level listed with <see cref="FolderAttributes.NoSelect"/>.
/// </summary>
public static class FolderTree
{
    /// <summary>The list of <paramref name="folders"/> (each folder once; their <see cref="FolderInfo.HasChildren"/> is recomputed) and the names above them.</summary>
    public static IReadOnlyList<FolderInfo> Build(IEnumerable<FolderInfo> folders, char separator)
    {
        ArgumentNullException.ThrowIfNull(folders);
        var byName = new Dictionary<string, FolderInfo>(StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            byName[folder.Name] = folder;
        }
        var parents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in byName.Keys)
        {
            for (var end = name.IndexOf(separator, StringComparison.Ordinal); end > 0; end = name.IndexOf(separator, end + 1))
            {
                parents.Add(name[..end]);
            }
        }
        var list = new List<FolderInfo>(byName.Count + parents.Count);
        foreach (var folder in byName.Values)
        {
            list.Add(folder with { HasChildren = parents.Contains(folder.Name) });
        }
        foreach (var parent in parents)
        {
            if (!byName.ContainsKey(parent))
            {
                list.Add(new FolderInfo(parent, SpecialUse.None, true, FolderAttributes.NoSelect));
            }
        }
        list.Sort((a, b) => a.Name == "INBOX" ? (b.Name == "INBOX" ? 0 : -1) : b.Name == "INBOX" ? 1 : string.CompareOrdinal(a.Name, b.Name));
        return list;
    }
}
