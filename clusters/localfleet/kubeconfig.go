package localfleet

import (
	"fmt"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// credentials says which of the fleet's admin credentials a kubeconfig carries.
type credentials int

const (
	// adminToken is for users, tests and Flotilla.
	adminToken credentials = iota
	// adminCertificate is for the clusters' own components.
	adminCertificate
)

// writeKubeconfig writes a kubeconfig with one context per cluster, named like the cluster, all
// using the fleet's admin token or certificate. The first cluster is the current context.
func writeKubeconfig(path string, p *pki, creds credentials, clusters ...*Cluster) error {
	cfg := clientcmdapi.NewConfig()
	cfg.AuthInfos[adminUser] = &clientcmdapi.AuthInfo{Token: p.adminToken}
	if creds == adminCertificate {
		cfg.AuthInfos[adminUser] = &clientcmdapi.AuthInfo{
			ClientCertificateData: p.adminCertPEM,
			ClientKeyData:         p.adminKeyPEM,
		}
	}
	for _, c := range clusters {
		cfg.Clusters[c.Name] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: p.caPEM}
		cfg.Contexts[c.Name] = &clientcmdapi.Context{Cluster: c.Name, AuthInfo: adminUser}
	}
	if len(clusters) > 0 {
		cfg.CurrentContext = clusters[0].Name
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
