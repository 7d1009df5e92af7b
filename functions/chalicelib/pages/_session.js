  // --- the session: people sign in through the city identity provider (/auth/login); the
  // refresh secret stays in an HttpOnly cookie this script never sees, the access token (minutes)
  // in memory only. An expired access token is refreshed once and the call repeated.
  const SESSION = {
    token: "", who: null,
    loginUrl(page) { return `/auth/login?page=${page}&lang=${document.documentElement.lang}`; },
    async refresh() {
      const response = await fetch("/auth/refresh", { method: "POST", headers: { "X-Gridgate-Page": "1" } });
      const body = await response.json().catch(() => ({}));
      this.token = response.ok ? body.access_token : "";
      this.who = response.ok ? body : null;
      return this.who;
    },
    async signOut() {
      await fetch("/auth/sign-out", { method: "POST", headers: { "X-Gridgate-Page": "1" } }).catch(() => {});
      this.token = ""; this.who = null;
    },
    async fetch(path, options = {}) {
      // the API words its refusals in the page's language (Accept-Language), like the page itself
      const language = { "Accept-Language": document.documentElement.lang };
      const call = () => fetch(path, { ...options, headers: { ...language, ...(options.headers || {}), "Authorization": "Bearer " + this.token } });
      let response = await call();
      if (response.status === 401) {
        const body = await response.clone().json().catch(() => ({}));
        if ((body.error || body).code === "token_expired" && await this.refresh()) response = await call();
      }
      return response;
    },
  };
